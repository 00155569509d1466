"""The text-in-photos pass: photos/s over camera-size JPEGs, and the share read in full.

    .venv/bin/python -m benchmarks.text [N]

N photos of 4000×3000 (default 24), one in six a photo of a sign with words, the others
synthetic scenes without text; the second pass runs with the text enricher only (no faces),
after pass 1 with a tiny random model (the pass does not use the model)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def main(n: int = 24) -> int:
    os.environ["SNAPSEEK_NO_FACES"] = "1"
    from helpers import draw_photo, make_random_model
    from test_ocr import sign

    from core.library import Library

    work = Path(tempfile.mkdtemp(prefix="snapseek-text-bench-"))
    folder = work / "Pictures"
    folder.mkdir()
    signs = 0
    for i in range(n):
        if i % 6 == 0:
            picture = sign([f"INVOICE {4400 + i}", "PLATFORM 9"], size=(4000, 3000))
            signs += 1
        else:
            picture = draw_photo(("red", "blue", "green", "yellow")[i % 4], "circle",
                                 (4000, 3000), seed=i)
        picture.save(folder / f"IMG_{i:04d}.jpg", quality=90)
    lib = Library(work / "home", model=make_random_model(work / "model"))
    lib.faces_enabled = False
    lib.add_folder(folder)
    lib.update()
    started = time.perf_counter()
    done, failed, _ = lib.enrich()
    seconds = time.perf_counter() - started
    read = sum(1 for r in lib.recent(n) if lib.photo_text(r.media_id))
    load = os.getloadavg()[0]
    print(f"text pass: {done} photos in {seconds:.1f} s = {done / seconds:.2f} photos/s; "
          f"read in full: {read} of {done} ({read / max(done, 1):.0%}; {signs} have text); "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    lib.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 24))
