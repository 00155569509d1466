"""A person's first run of a model: its files downloaded from a local server in the hub's layout
(reached through HF_ENDPOINT), both towers built from the weights, and the first text and
picture answered, in a fresh process with an empty home and cache. Peak resident memory
(VmHWM), the build's own seconds, the time to the first answer, bytes fetched, and whether torch
was imported; then the idle memory of a library reopened on the built towers.

    PYTHONPATH=. .venv/bin/python -m benchmarks.first_run [NAME:TAG]   (default: the default)

The architecture is real and its weights random (memory and time do not depend on them), with
a tokenizer of the same kind (tests/hf_tokenizer.py) where the model has a Hugging Face one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ONE = """
import json, logging, sys, time
from pathlib import Path
started = time.monotonic()
from PIL import Image
from core.library import Library
spec, home = sys.argv[1], Path(sys.argv[2])
built = []
class Took(logging.Handler):
    def emit(self, record):
        if "built from its weights" in record.getMessage():
            built.append(record.args[1])
logging.getLogger("core.model.builder").addHandler(Took())
logging.getLogger("core.model.builder").setLevel(logging.INFO)
lib = Library(home, model=spec)
emb = lib.load_model()
emb.encode_text(["a dog on the beach"])
emb.encode_images([Image.new("RGB", (640, 480), (200, 120, 40))])
seconds = time.monotonic() - started
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
rss = next(l for l in open("/proc/self/status") if l.startswith("VmRSS:"))
print(json.dumps({"peak_mb": round(int(peak.split()[1]) / 1024), "seconds": round(seconds, 1),
                  "build_s": round(built[0], 1) if built else None,
                  "rss_after_mb": round(int(rss.split()[1]) / 1024),
                  "kind": type(emb).__name__, "torch": "torch" in sys.modules,
                  "open_clip": "open_clip" in sys.modules}))
lib.close()
"""


def run_one(spec: str, home: Path, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", ONE, spec, str(home)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def publish_random(arch: str, hub: Path, repo: str) -> int:
    """The architecture with random weights published in the hub's layout; its bytes."""
    import open_clip
    from hf_tokenizer import gemma_like
    from test_tokenizers import texts

    from helpers import make_random_model

    name = arch.split(":")[0]
    cfg = open_clip.get_model_config(name)
    folder = hub / repo
    make_random_model(folder, seed=1, config=cfg)
    pre = open_clip.get_pretrained_cfg(*arch.split(":"))
    config = json.loads((folder / "open_clip_config.json").read_text())
    config["preprocess_cfg"] = {k: pre[k] for k in ("mean", "std", "interpolation",
                                                   "resize_mode") if k in pre}
    text_cfg = config["model_cfg"]["text_cfg"]
    if text_cfg.get("hf_tokenizer_name"):
        text_cfg["hf_tokenizer_name"] = repo
        gemma_like(folder, texts(), vocab=4000)
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return sum(f.stat().st_size for f in folder.iterdir())


def measure(arch: str) -> dict:
    sys.path[:0] = [str(ROOT / "tests")]
    from localhub import Server

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo = "bench/" + arch.replace(":", "-")
        published = publish_random(arch, tmp / "hub", repo)
        server = Server(tmp / "hub")
        env = {**os.environ, "HF_ENDPOINT": server.url, "XDG_CACHE_HOME": str(tmp / "cache"),
               "PYTHONPATH": str(ROOT)}
        env.pop("HF_HUB_OFFLINE", None)
        try:
            first = run_one(f"hf-hub:{repo}", tmp / "home", env)
            again = run_one(f"hf-hub:{repo}", tmp / "home", env)  # the next start: built
        finally:
            server.close()
    return {"model": arch, "published_mb": round(published / 1e6), "first_run": first,
            "next_start": again}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from core.model.offered import DEFAULT_MODEL

    print(json.dumps(measure(argv[0] if argv else DEFAULT_MODEL), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
