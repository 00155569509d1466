"""Peak resident memory of answering one text and one picture query from the exported towers
(OpenVINO, no torch) against the torch model itself, in fresh processes.

`python -m benchmarks.towers_rss [tiny] [ViT-B-32 ...]`: each model is built with random
weights as a local-dir: folder (memory does not depend on the weights), its towers exported
once, then each way is measured in a process of its own (VmHWM, /proc/self/status). Prints JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8,
                       "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2,
                     "layers": 1}}
PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bicubic",
              "resize_mode": "shortest"}
ONE = """
import json, sys
from pathlib import Path
from PIL import Image
from core.model.embedder import Embedder
spec, cache = sys.argv[1], (Path(sys.argv[2]) if sys.argv[2] != "-" else None)
emb = Embedder.load(spec, device="cpu", runtime_cache=cache)
emb.encode_text(["a photo of a dog"]); emb.encode_images([Image.new("RGB", (640, 480), "red")])
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"kind": type(emb).__name__, "peak_mb": round(int(peak.split()[1]) / 1024),
                  "torch": "torch" in sys.modules, "open_clip": "open_clip" in sys.modules}))
"""


def build(name: str, folder: Path) -> str:
    import open_clip
    import torch
    from safetensors.torch import save_file

    cfg = TINY if name == "tiny" else open_clip.get_model_config(name)
    torch.manual_seed(0)
    model = open_clip.CLIP(**cfg)
    folder.mkdir(parents=True)
    (folder / "open_clip_config.json").write_text(json.dumps(
        {"model_cfg": cfg, "preprocess_cfg": PREPROCESS}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    return f"local-dir:{folder}"


def measure(name: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec = build(name, Path(tmp) / "model")
        cache = Path(tmp) / "runtime"
        run = [sys.executable, "-c", ONE, spec]
        subprocess.run(run + [str(cache)], check=True, cwd=ROOT, capture_output=True)  # export
        out = {}
        for way, arg in (("exported towers", str(cache)), ("torch model", "-")):
            done = subprocess.run(run + [arg], check=True, cwd=ROOT, capture_output=True,
                                  text=True)
            out[way] = json.loads(done.stdout.strip().splitlines()[-1])
        return {"model": name, **out}


if __name__ == "__main__":
    for name in sys.argv[1:] or ["tiny"]:
        print(json.dumps(measure(name)), flush=True)
