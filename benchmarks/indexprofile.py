"""Where a photo's time goes in the searchable pass: `snapseek index --no-faces` on 12 MP JPEGs,
sampled by two profilers, every thread.

    PYTHONPATH=. .venv/bin/python -m benchmarks.indexprofile [PHOTOS] [--repeat 3] [--work FOLDER]

perf (`perf record`, every thread of the process, native code) says how much of the CPU time
the image tower took (OpenVINO's libraries and the code it generates). py-spy (`py-spy record
--native --threads`, the Python threads while they run) says where the rest went, by the
Python function on the stack: the scan (stat), the content hash, decoding, the thumbnail,
preparing for the tower, SQLite, the vector index. The rest of the command's time on the
machine's cores is idle or other processes'. A photo's share is the difference between a
run on PHOTOS photos and one on --few (8): what every command pays once (imports, opening the
model, compiling its tower) is set apart. The default architecture with random weights, its
towers built beforehand in the home (a first run's cost is not a photo's)."""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERF_HZ, SPY_HZ = 199, 100
TOWER_DSOS = ("libopenvino", "[JIT]", "libtbb")
# the first of these found on a stack, from the thread's start to the leaf, names the row
ROWS = [
    ("start: imports, opening the library and the model", ("_find_and_load", "cmd_index.<",
                                                           "load_model", "_open (",
                                                           "compile_tower")),
    ("scan: stat of every file", ("Scanner.",)),
    ("content hash", ("content_hash", "head_tail_hash")),
    ("thumbnail: resize, encode, write", ("save_thumbnail",)),
    ("preparing for the tower (resize, normalise)", ("prepare (", "light_preprocess",
                                                     "prepared (")),
    ("decode (JPEG draft, EXIF, shrink)", ("open_image", "open_video")),
    ("the tower's call, outside OpenVINO (copies, spinning)", ("encode_images",)),
    ("SQLite", ("store_vectors", "Catalog.", "sqlite")),
    ("vector index (insert, save)", ("VectorIndex.", "index.add", "hnswlib")),
]
OTHER = "other Python (the pipeline's own work)"
# a thread waiting (for work, a lock, a future): py-spy counts some of these as running
WAITING = ("PyThread_acquire_lock", "pthread_cond_wait", "Condition.wait", "sem_wait",
           "_queue_SimpleQueue_get", "epoll_wait", "select (", "_M_futex_wait")
TOWER = "image tower (OpenVINO's threads and the caller)"


def command(home: Path, spec: str, photos: Path) -> list[str]:
    return [sys.executable, "-m", "core.cli", "index", "--home", str(home), "--model", spec,
            "--no-faces", "--json", str(photos)]


def fresh_home(work: Path, towers: Path, name: str) -> Path:
    from .searchable import link_tree

    home = work / name
    shutil.rmtree(home, ignore_errors=True)
    link_tree(towers, home / "runtime")
    return home


def perf_split(work: Path, towers: Path, spec: str, photos: Path) -> dict:
    """perf: CPU seconds of the whole command, and the tower's share of them."""
    home = fresh_home(work, towers, "home-perf")
    data = work / "index.perf"
    started = time.perf_counter()
    done = subprocess.run(["perf", "record", "-F", str(PERF_HZ), "-o", str(data), "--"]
                          + command(home, spec, photos), capture_output=True, text=True,
                          cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    report = json.loads(done.stdout.strip().splitlines()[-1])
    text = subprocess.run(["perf", "report", "-i", str(data), "--sort", "dso", "--stdio",
                           "-g", "none"], capture_output=True, text=True, check=True).stdout
    samples = int(re.search(r"Samples: (\d+)(K?)", text).group(1)) * (
        1000 if re.search(r"Samples: \d+K", text) else 1)
    count = re.search(r"Event count \(approx\.\): (\d+)", text)
    cpu_s = int(count.group(1)) / 1e9 if count else samples / PERF_HZ
    share = {}
    for line in text.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(.+?)\s*$", line)
        if m:
            share[m.group(2)] = float(m.group(1)) / 100
    tower = sum(v for k, v in share.items() if k.startswith(TOWER_DSOS))
    return {"wall_s": wall, "index_seconds": report["seconds"], "cpu_s": cpu_s,
            "tower_share": tower, "embedded": report["embedded"],
            "dsos": {k: round(v, 4) for k, v in sorted(share.items(), key=lambda kv: -kv[1])[:8]}}


def spy_rows(work: Path, towers: Path, spec: str, photos: Path) -> dict:
    """py-spy: the Python threads' samples while they run, by row."""
    home = fresh_home(work, towers, "home-spy")
    raw = work / "index.spy"
    subprocess.run([str(Path(sys.executable).with_name("py-spy")), "record", "--native",
                    "--threads", "-r", str(SPY_HZ), "--format", "raw", "-o", str(raw), "--"]
                   + command(home, spec, photos), capture_output=True, text=True, cwd=ROOT,
                   check=True)
    rows: collections.Counter = collections.Counter()
    in_tower = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")[2:]  # the process and the thread first
        if any(w in f for f in frames[-8:] for w in WAITING):
            continue
        if frames and any(d in frames[-1] for d in ("libopenvino", "libtbb", "(?)")):
            in_tower += int(n)  # counted by perf with the tower
            continue
        name = next((row for row, marks in ROWS for f in frames if any(m in f for m in marks)),
                    OTHER)
        rows[name] += int(n)
    return {"rows": dict(rows), "tower_samples": in_tower}


def seconds_by_row(work: Path, spec: str, photos: Path, towers: Path) -> dict:
    """One command, profiled twice (perf, then py-spy): CPU seconds by row, and its wall time."""
    perf = perf_split(work, towers, spec, photos)
    spy = spy_rows(work, towers, spec, photos)
    rest = perf["cpu_s"] * (1 - perf["tower_share"])
    total = sum(spy["rows"].values()) or 1
    rows = {TOWER: perf["cpu_s"] * perf["tower_share"]}
    rows.update({row: rest * spy["rows"].get(row, 0) / total for row, _ in ROWS})
    rows[OTHER] = rest * spy["rows"].get(OTHER, 0) / total
    return {"rows": rows, "wall_s": perf["wall_s"], "cpu_s": perf["cpu_s"],
            "index_seconds": perf["index_seconds"], "photos": perf["embedded"],
            "dsos": perf["dsos"]}


def median_run(runs: list[dict]) -> dict:
    """Each row's median over the runs (the machine is shared: one run can be unlucky)."""
    out = dict(runs[0])
    for key in ("wall_s", "cpu_s", "index_seconds"):
        out[key] = statistics.median(r[key] for r in runs)
    out["rows"] = {row: statistics.median(r["rows"][row] for r in runs) for row in out["rows"]}
    return out


def profile(work: Path, spec: str, few: Path, many: Path, towers: Path,
            repeat: int = 1) -> dict:
    """A photo's share: the difference between a run on many photos and one on a few, so that
    what every command pays once (imports, opening the model, compiling its tower, saving the
    index) is apart; each the median of `repeat` runs."""
    smalls, bigs = [], []
    for _ in range(repeat):
        smalls.append(seconds_by_row(work, spec, few, towers))
        bigs.append(seconds_by_row(work, spec, many, towers))
    small, big = median_run(smalls), median_run(bigs)
    n = big["photos"] - small["photos"]
    per = {row: (big["rows"][row] - small["rows"][row]) / n for row in big["rows"]}
    once = sum(small["rows"].values()) - small["photos"] * sum(per.values())
    cores = os.cpu_count() or 1
    wall = (big["wall_s"] - small["wall_s"]) / n
    return {"photos": big["photos"], "few": small["photos"], "repeat": repeat,
            "wall_s": round(big["wall_s"], 2),
            "index_seconds": big["index_seconds"], "cpu_s": round(big["cpu_s"], 2),
            "once_cpu_s": round(once, 2), "once_wall_s": round(
                small["wall_s"] - small["photos"] * wall, 2),
            "per_photo_ms": {k: round(v * 1000, 1) for k, v in per.items()},
            "wall_per_photo_ms": round(wall * 1000, 1),
            "not_ours_per_photo_ms": round((wall * cores - sum(per.values())) * 1000, 1),
            "cores": cores, "load_average": round(os.getloadavg()[0], 1), "dsos": big["dsos"]}


def markdown(x: dict, title: str) -> list[str]:
    lines = [f"**{title}** ({x['photos']} photos against {x['few']}, medians of "
             f"{x['repeat']} runs of each: the command took "
             f"{x['wall_s']} s and {x['cpu_s']} CPU s; what "
             f"every command pays once, {x['once_cpu_s']} CPU s and about {x['once_wall_s']} s; "
             f"load average {x['load_average']} on {x['cores']} cores)", "",
             "| where a photo's time goes | CPU ms per photo | share |", "|---|---|---|"]
    # what every command pays once is apart; a row's difference below zero is the noise of
    # two runs on a shared machine, and counts as nothing
    rows = {k: max(v, 0.0) for k, v in x["per_photo_ms"].items() if k != ROWS[0][0]}
    work = sum(rows.values())
    for row, ms in sorted(rows.items(), key=lambda kv: -kv[1]):
        if ms >= 0.05:
            lines.append(f"| {row} | {ms} | {ms / work:.0%} |")
    lines += [f"| all of a photo's work | **{round(work, 1)}** | 100% |",
              f"| wall time per photo, × {x['cores']} cores | "
              f"{round(x['wall_per_photo_ms'] * x['cores'], 1)} | |",
              f"| of which the cores were idle or ran other processes | "
              f"{x['not_ours_per_photo_ms']} | |", ""]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="?", type=int, default=64)
    parser.add_argument("--few", type=int, default=8, help="the run whose cost is set apart")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, medians taken")
    parser.add_argument("--work", type=Path, help="keep the model and photos here between runs")
    parser.add_argument("--title", default="The searchable pass")
    args = parser.parse_args(argv)
    if shutil.which("perf") is None:
        print("perf is not installed (linux-tools): it samples OpenVINO's threads")
        return 1
    from PIL import Image

    from core.library import Library

    from .data import random_weight_model
    from .run import DEFAULT_ARCH
    from .searchable import photos_in

    with tempfile.TemporaryDirectory(prefix="snapseek-indexprofile-") as tmp:
        work = args.work or Path(tmp)
        spec = random_weight_model(*DEFAULT_ARCH, work / "model")
        folders = []
        for count in (args.few, args.photos):
            folder = work / f"profile-photos-{count}"
            folders.append(folder)
            if not folder.exists():
                folder.mkdir()
                for p in photos_in(work / "photos", count):
                    os.link(p, folder / p.name)
        towers = work / "home-profile-towers"
        with Library(towers, model=spec) as lib:
            emb = lib.load_model()
            emb.encode_images([Image.new("RGB", (emb.image_size, emb.image_size))] * 2)
        result = profile(work, spec, *folders, towers / "runtime", args.repeat)
    print(json.dumps(result, indent=2))
    print("\n".join(markdown(result, args.title)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
