"""How long "where in the picture" (the occlusion heatmap) takes with the default model's
architecture (random weights: speed does not depend on them).

    .venv/bin/python -m benchmarks.explain

One 4000×3000 photo indexed, then `Library.explain` three times (the first also compiles the
runtime); prints each time and the median of the last two."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def main() -> int:
    os.environ.setdefault("SNAPSEEK_NO_FACES", "1")
    os.environ.setdefault("SNAPSEEK_NO_TEXT", "1")
    from helpers import draw_photo

    from benchmarks.data import random_weight_model
    from benchmarks.run import DEFAULT_ARCH
    from core.library import Library
    from core.types import Query

    work = Path(tempfile.mkdtemp(prefix="snapseek-explain-bench-"))
    spec = random_weight_model(*DEFAULT_ARCH, work / "model")
    (work / "Pictures").mkdir()
    draw_photo("red", "circle", (4000, 3000), seed=1).save(work / "Pictures" / "p.jpg")
    with Library(work / "home", model=spec) as lib:
        lib.add_folder(work / "Pictures")
        lib.update()
        media_id = lib.recent(1)[0].media_id
        times = []
        for _ in range(3):
            started = time.perf_counter()
            lib.explain(media_id, Query.text("a red circle", k=1))
            times.append(time.perf_counter() - started)
    print(f"explain with {':'.join(DEFAULT_ARCH)}: " + ", ".join(f"{t:.2f}" for t in times)
          + f" s; median of the last two {statistics.median(times[1:]):.2f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
