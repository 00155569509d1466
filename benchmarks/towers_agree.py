"""The exported towers (OpenVINO, what the app answers with, no torch) against the torch model, for
every architecture offered: the smallest cosine between the two vectors of the same real picture
(the pictures that ship in scikit-image and matplotlib) and of the same text (several languages).

    PYTHONPATH=. .venv/bin/python -m benchmarks.towers_agree [NAME:TAG ...]   (default: all)

Random weights (the real ones cannot be fetched here; agreement is a property of the export and
the runtime, and random weights are the harder case: nothing in them is smooth). Each model is
exported as a first run exports it, into a fresh folder, then opened again as every later run
opens it (the light path), and compared with the torch model on CPU in fp32.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["a dog on the beach", "the receipt from IKEA", "un chat sur le canapé",
         "Geburtstagskuchen mit Kerzen", "夜の東京の街", "a red bicycle in the snow"]

ONE = """
import json, sys
from pathlib import Path
import numpy as np
from PIL import Image
from core.model.embedder import Embedder
spec, cache, pictures = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
images = [Image.open(p).convert("RGB") for p in pictures]
texts = json.loads(sys.stdin.read())
exporter = Embedder.load(spec, device="cpu", runtime_cache=cache)  # a first run: exports
exporter.encode_images(images[:1])
del exporter
light = Embedder.load(spec, device="cpu", runtime_cache=cache)  # every later run
torch_model = Embedder.load(spec, device="cpu", light=False, text_precision="fp32")  # no runtime
def cos(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True); b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(1).min())
print(json.dumps({"light": type(light).__name__,
                  "text_precision": getattr(light, "text_precision", None),
                  "image_min_cosine": round(cos(light.encode_images(images),
                                                torch_model.encode_images(images)), 5),
                  "text_min_cosine": round(cos(light.encode_text(texts),
                                               torch_model.encode_text(texts)), 5)}))
"""


def real_pictures(folder: Path) -> list[Path]:
    import matplotlib.cbook
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera"):
        path = folder / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(path)
        out.append(path)
    out.append(Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    return out


def measure(arch: str, work: Path, pictures: list[Path]) -> dict:
    from .data import random_weight_model

    name, tag = arch.split(":", 1)
    spec = random_weight_model(name, tag, work / name)
    done = subprocess.run([sys.executable, "-c", ONE, spec, str(work / f"cache-{name}"),
                           *map(str, pictures)], input=json.dumps(TEXTS), cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    from core.model.offered import MODELS

    archs = (sys.argv[1:] if argv is None else argv) or [m.spec for m in MODELS]
    with tempfile.TemporaryDirectory(prefix="snapseek-agree-") as tmp:
        pictures = real_pictures(Path(tmp) / "pictures")
        results = {arch: measure(arch, Path(tmp), pictures) for arch in archs}
    print(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
