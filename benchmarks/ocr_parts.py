"""The text reader's two choices, measured: (1) each of RapidOCR's networks on ONNX Runtime
and on OpenVINO (best of 3, one thread, the maps' largest difference), (2) the full read's
detector over only the parts the 640 px check lit up, for several margins: the lines kept
against the whole read (spaces aside) and the share of the picture looked at.

    PYTHONPATH=. .venv/bin/python -m benchmarks.ocr_parts [photos]
"""

from __future__ import annotations

import functools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def best_ms(call, runs: int = 3) -> float:
    call()
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def runtimes() -> list[dict]:
    from core.text.ocr import DETECTOR, RECOGNISER, models_folder, ocr_network
    from core.thirdparty import onnxruntime

    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    rows = []
    for name, shape in ((DETECTOR, (1, 3, 480, 640)), (DETECTOR, (1, 3, 960, 1280)),
                        (RECOGNISER, (6, 3, 48, 320))):
        session = ort.InferenceSession(str(models_folder() / name), options,
                                       providers=["CPUExecutionProvider"])
        network = ocr_network(name, 1)
        x = np.random.default_rng(0).random(shape, np.float32)
        feed = {session.get_inputs()[0].name: x}
        theirs = functools.partial(session.run, None, feed)
        ours = functools.partial(network, x)
        rows.append({"network": name, "input": shape, "onnxruntime_ms": best_ms(theirs),
                     "openvino_ms": best_ms(ours),
                     "largest_difference": float(np.abs(theirs()[0] - ours()[0]).max())})
    return rows


def margins(n: int) -> list[dict]:
    import core.text.ocr as ocr
    from benchmarks.enrichset import make_photos
    from core.folders.enrich import decode

    reader = ocr.TextReader(1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="snapseek-ocr-parts-") as tmp:
        make_photos(Path(tmp), n)
        pictures = [Image.fromarray(decode(str(p))) for p in sorted(Path(tmp).glob("*.jpg"))]
        maps = [reader.text_likelihood(p) for p in pictures]
        lit = [(p, m) for p, m in zip(pictures, maps, strict=True) if (m > ocr.TEXT_PIXEL).any()]
        wholes = [[t.text.replace(" ", "") for t in reader.read(p)] for p, _ in lit]
        default = ocr.MARGIN
        try:
            for margin in (32, 64, 96, 128):
                ocr.MARGIN = margin
                kept = total = 0
                shares = []
                for (picture, likelihood), whole in zip(lit, wholes, strict=True):
                    got = [t.text.replace(" ", "") for t in reader.read(picture, likelihood)]
                    total += len(whole)
                    kept += sum(1 for t in whole if t in got)
                    shares.append(reader._regions.looked_at)  # of the detector's input
                rows.append({"margin": margin, "photos_lit": len(lit), "lines_kept": kept,
                             "lines_whole_read": total,
                             "share_looked_at_mean": round(float(np.mean(shares)), 2),
                             "share_looked_at": [round(s, 2) for s in shares]})
        finally:
            ocr.MARGIN = default
    return rows


def main(argv=None) -> int:
    import json

    args = argv if argv is not None else sys.argv[1:]
    print(json.dumps({"runtimes": runtimes(), "margins": margins(int(args[0]) if args else 16)},
                     indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
