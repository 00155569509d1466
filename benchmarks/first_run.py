"""A first run with a published export: the towers downloaded (from a local server here), verified,
opened, and the first text and picture answered, in a fresh process with an empty library home,
beside a first run that loads the model whole to export its towers itself. Peak resident memory
(VmHWM), time to the first answer, bytes fetched, and whether torch was imported.

    PYTHONPATH=. .venv/bin/python -m benchmarks.first_run [NAME:TAG]   (default: the default)

The architecture is real, its weights random (memory and time do not depend on them); its
export is made and published by core/model/publish.py as for an offered model, and the model's own
folder is removed before the downloading run, so only the download can answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ONE = """
import json, sys, time
from pathlib import Path
started = time.monotonic()
from PIL import Image
from core.model import offered as models
from core.library import Library
spec, home, entry = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
if entry != "-":
    raw = json.loads(entry)
    models.EXPORTS[spec] = models.PinnedExport(spec, tuple(models.PinnedFile(*f) for f in raw))
lib = Library(home, model=spec)
emb = lib.load_model()
emb.encode_text(["a dog on the beach"])
emb.encode_images([Image.new("RGB", (640, 480), (200, 120, 40))])
seconds = time.monotonic() - started
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"peak_mb": round(int(peak.split()[1]) / 1024), "seconds": round(seconds, 1),
                  "kind": type(emb).__name__, "torch": "torch" in sys.modules,
                  "open_clip": "open_clip" in sys.modules}))
lib.close()
"""


def run_one(spec: str, home: Path, entry: str) -> dict:
    done = subprocess.run([sys.executable, "-c", ONE, spec, str(home), entry], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(arch: str) -> dict:
    sys.path.append(str(ROOT / "tests"))
    from exported import Server

    from core.model.publish import export_and_publish

    from .data import random_weight_model

    name, tag = arch.split(":", 1)
    with tempfile.TemporaryDirectory(prefix="snapseek-first-run-") as tmp:
        tmp = Path(tmp)
        spec = random_weight_model(name, tag, tmp / name)
        exporting = run_one(spec, tmp / "home-export", "-")  # no published export: its own
        published = tmp / "published"
        published.mkdir()
        server = Server(published)
        try:
            pinned = export_and_publish(spec, published, server.url)
            shutil.rmtree(tmp / name)  # only the download can answer now
            entry = json.dumps([[f.name, f.url, f.size, f.sha256] for f in pinned.files])
            downloading = run_one(spec, tmp / "home-download", entry)
            fetched = sum(f.size for f in pinned.files)
        finally:
            server.close()
    return {"model": arch, "published_mb": round(fetched / 1e6),
            "first_run_downloading_export": downloading,
            "first_run_exporting_itself": exporting}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from core.model.offered import DEFAULT_MODEL

    print(json.dumps(measure(argv[0] if argv else DEFAULT_MODEL), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
