"""Speed of the towers the builder makes beside the towers torch's export made before them, for one
architecture (random weights), measured side by side in one run: image tower pictures per
second (batches of 16, as indexing runs it) and a one-word text query's latency, the two kinds
taking turns round after round so that the machine's load falls on both alike.

    PYTHONPATH=. .venv/bin/python -m benchmarks.built_vs_exported [NAME:TAG]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sys.path[:0] = [str(ROOT / "tests")]
    import numpy as np
    import open_clip
    from benchmarks.towers_built import random_folder

    from core.model import runtime, torchexport
    from core.model.builder import build
    from core.model.exported import open_light
    from core.model.offered import DEFAULT_MODEL
    from core.model.tokens import LightTokenizer

    arch = argv[0] if argv else DEFAULT_MODEL
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = random_folder(arch, tmp / "model")
        spec = f"local-dir:{folder}"
        build(spec, folder, tmp / "built", check=False)
        light = open_light(spec, tmp / "built", 2, lambda: None)
        m = light._manifest
        model = open_clip.create_model_and_transforms(spec)[0].eval()
        size = m["image_size"]
        exported_image = torchexport.export(model.visual, size, tmp / "exported" / "image.xml")
        xml, table, inputs = torchexport.export_text(model, m["context_length"],
                                                     tmp / "exported" / "text.xml")
        del model
        precision = m["image_precision"]
        towers = {
            "built": (runtime.compile_tower(tmp / "built" / m["image_xml"], precision, 2),
                      light._make_tower(False)),
            "exported": (runtime.compile_tower(exported_image, precision, 2),
                         runtime.compile_text(
                             xml, LightTokenizer(str(tmp / "built" / m["tokenizer"]),
                                                 m["context_length"], m["clean"], m["pad_id"],
                                                 m["sep_id"], m.get("pad_left", False)),
                             precision, 2, np.load(table, mmap_mode="r") if table else None,
                             inputs))}
        batch = np.random.default_rng(0).standard_normal((16, 3, size, size)).astype(np.float32)
        img = {k: [] for k in towers}
        txt = {k: [] for k in towers}
        for image, text in towers.values():  # warm
            image(batch)
            text(["dog"])
        for _ in range(7):
            for k, (image, text) in towers.items():
                started = time.perf_counter()
                image(batch)
                img[k].append(len(batch) / (time.perf_counter() - started))
                started = time.perf_counter()
                for word in ("dog", "beach", "cat", "snow", "car"):
                    text([word])
                txt[k].append((time.perf_counter() - started) / 5 * 1000)
    out = {"model": arch, "precision": precision}
    for k in towers:
        out[k] = {"image_per_s": round(statistics.median(img[k]), 2),
                  "text_query_ms": round(statistics.median(txt[k]), 1)}
    out["built/exported image speed"] = round(out["built"]["image_per_s"]
                                              / out["exported"]["image_per_s"], 3)
    out["built/exported text latency"] = round(out["built"]["text_query_ms"]
                                               / out["exported"]["text_query_ms"], 3)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
