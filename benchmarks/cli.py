"""`snapseek search "dog"` as a user runs it, on the default architecture (random weights): wall
time and peak RSS of the real command (/usr/bin/time -v), and where the time goes (imports,
model load, encode, search), each measured in a fresh process on a library that was indexed once
(which exported the towers into its home).

    python -m benchmarks.cli [WORK_FOLDER]    # prints JSON
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BREAKDOWN = r"""
import json, sys, time
t0 = time.perf_counter()
from core.library import Library
from core.search.scoring import parse_query
t1 = time.perf_counter()
lib = Library(sys.argv[1])
t2 = time.perf_counter()
emb = lib.embedder
t3 = time.perf_counter()
emb.encode_text(["dog"])
t4 = time.perf_counter()
query, _ = parse_query("dog", k=None)
emb._text_cache.clear()
results = lib.search(query)
t5 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "open_library_s": t2 - t1, "model_load_s": t3 - t2,
                  "encode_s": t4 - t3, "search_incl_encode_s": t5 - t4,
                  "embedder": type(emb).__name__, "torch": "torch" in sys.modules,
                  "results": len(results)}))
"""


def prepare(work: Path, photos: int = 8) -> tuple[str, Path]:
    from core.library import Library

    from .data import photo_like_jpeg, random_weight_model
    from .run import DEFAULT_ARCH

    spec = random_weight_model(*DEFAULT_ARCH, work / "model")
    home = work / "home"
    if not (home / "catalog.db").exists():
        pictures = work / "Pictures"
        pictures.mkdir(parents=True, exist_ok=True)
        for i in range(photos):
            photo_like_jpeg(pictures / f"IMG_{i:04d}.jpg", seed=i, size=(1600, 1200))
        t = time.perf_counter()
        with Library(home, model=spec) as lib:
            lib.add_folder(pictures)
            lib.update()
        print(f"# indexed {photos} photos (first use: exports both towers) in "
              f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
    return spec, home


def timed_command(home: Path, spec: str, env_extra: dict | None = None) -> dict:
    env = {**os.environ, "SNAPSEEK_HOME": str(home), **(env_extra or {})}
    done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "core.cli", "search",
                           "dog", "--model", spec], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    h, m, s = wall.groups()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return {"wall_s": round(int(h or 0) * 3600 + int(m) * 60 + float(s), 2),
            "peak_rss_mb": round(rss / 1024)}


def bench_cli(work: Path, runs: int = 3) -> dict:
    spec, home = prepare(work)
    light, torch_path, parts = [], [], []
    for _ in range(runs):  # alternating: the machine is shared
        light.append(timed_command(home, spec))
        torch_path.append(timed_command(home, spec, {"SNAPSEEK_RUNTIME": "torch"}))
        done = subprocess.run([sys.executable, "-c", BREAKDOWN, str(home)], capture_output=True,
                              text=True, cwd=ROOT, check=True,
                              env={**os.environ, "SNAPSEEK_HOME": str(home)})
        parts.append(json.loads(done.stdout.strip().splitlines()[-1]))

    def med(rows, key):
        return round(statistics.median(r[key] for r in rows), 3)

    return {"command": f'/usr/bin/time -v python -m core.cli search "dog" --model {spec}',
            "runs": runs, "load_average": os.getloadavg()[0],
            "light": {"wall_s": med(light, "wall_s"), "peak_rss_mb": med(light, "peak_rss_mb"),
                      "runs": light},
            "torch": {"wall_s": med(torch_path, "wall_s"),
                      "peak_rss_mb": med(torch_path, "peak_rss_mb"), "runs": torch_path},
            "breakdown": {k: med(parts, k) for k in ("imports_s", "open_library_s",
                                                     "model_load_s", "encode_s",
                                                     "search_incl_encode_s")},
            "breakdown_embedder": parts[-1]["embedder"], "breakdown_torch": parts[-1]["torch"],
            "runtime_files_mb": {p.name: round(p.stat().st_size / 2**20, 1)
                                 for p in sorted((home / "runtime").iterdir())}}


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/snapseek-bench-cli")
    folder.mkdir(parents=True, exist_ok=True)
    print(json.dumps(bench_cli(folder), indent=2))
