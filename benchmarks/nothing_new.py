"""`snapseek index` on a library where nothing is new: what every run pays before it can say
so, at 10,000 photos (goal: under 1 s).

    PYTHONPATH=. .venv/bin/python -m benchmarks.nothing_new [PHOTOS] [--work FOLDER]

The default architecture with random weights, its towers built once. The library is filled
without running the model on every photo (the fixed cost does not depend on the vectors): the
files are small JPEGs, each cataloged by a real scan and given a random vector and the
records that the second pass (faces, names, text) has looked at it; then the real command
runs in a fresh process, with and without --no-faces, 3 times each, alternating."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 1.0


def small_jpegs(folder: Path, n: int) -> Path:
    """`n` distinct small JPEGs, a thousand to a folder, as a camera's card files them."""
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    if folder.exists() and sum(1 for _ in folder.rglob("*.jpg")) == n:
        return folder
    for i in range(n):
        sub = folder / f"{100 + i // 1000:03d}CANON"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
        (sub / f"IMG_{i:05d}.jpg").write_bytes(buf.getvalue())
    return folder


def filled_library(home: Path, spec: str, photos: Path) -> int:
    """Every photo cataloged, given a vector and marked looked at by the second pass."""
    from core.library import Library

    with Library(home, model=spec) as lib:
        emb = lib.load_model()
        lib.add_folder(photos)
        lib.scan()
        pending = lib.catalog.pending(emb.model_id)
        rng = np.random.default_rng(1)
        index = lib.index
        for start in range(0, len(pending), 500):
            block = pending[start:start + 500]
            vecs = rng.standard_normal((len(block), emb.dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            seq, _ = lib.catalog.store_vectors(
                emb.model_id, [(m, v[None], {}) for (m, _), v in zip(block, vecs, strict=True)],
                [])
            index.add(np.array([m for m, _ in block]), vecs)
            index.seq = max(index.seq, seq)
        index.save(lib.catalog)
        versions = lib.folder_work.enricher_versions()
        while items := lib.catalog.enrich_pending(versions, 1000):
            for item in items:
                lib.catalog.store_enriched(item.media_id, item.content_hash,
                                           [(k, v, [], None) for k, v in versions.items()])
        return len(pending)


def run_index(home: Path, spec: str, *extra: str) -> tuple[float, dict]:
    """The command in a fresh process, with its modules' bytecode cached as an installation
    has it (kept apart from the source tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(home.parent / "bytecode")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "core.cli", "index", "--home", str(home),
                           "--model", spec, "--json", *extra], capture_output=True, text=True,
                          cwd=ROOT, check=True, env=env)
    return time.perf_counter() - started, json.loads(done.stdout.strip().splitlines()[-1])


def bench_nothing_new(work: Path, spec: str, n: int, runs: int = 3) -> dict:
    photos = small_jpegs(work / f"card-{n}", n)
    home = work / f"home-nothing-new-{n}"
    if not (home / "catalog.db").exists():
        filled_library(home, spec, photos)
    run_index(home, spec)  # the OS's file cache warm, as on a computer in use
    times: dict[str, list[float]] = {"index": [], "index --no-faces": []}
    reports = {}
    for _ in range(runs):
        for name, extra in (("index", ()), ("index --no-faces", ("--no-faces",))):
            seconds, reports[name] = run_index(home, spec, *extra)
            times[name].append(round(seconds, 2))
    for name, report in reports.items():
        if report["unchanged"] != n or report["embedded"] or report.get("faces_done"):
            raise RuntimeError(f"`snapseek {name}` found something to do: {report}")
    return {"photos": n, "runs": times, "median_s": {k: statistics.median(v)
                                                     for k, v in times.items()},
            "report_seconds": {k: r["seconds"] for k, r in reports.items()},
            "goal_s": GOAL_S, "load_average": round(os.getloadavg()[0], 1)}


def markdown(x: dict) -> list[str]:
    m = x["median_s"]
    return [
        "## 4b. `snapseek index` when nothing is new", "",
        f"{x['photos']:,} photos, every one indexed and looked at by the second pass; the "
        "real command in a fresh process (its modules' bytecode cached, as installed), median "
        f"of {len(x['runs']['index'])}: **{m['index']} s** (`snapseek index`), "
        f"{m['index --no-faces']} s with `--no-faces` (goal under {x['goal_s']:g} s); its "
        f"own report {x['report_seconds']['index']} s (the scan and the rest of the update). "
        f"Load average {x['load_average']} (`python -m benchmarks.nothing_new`).", ""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="?", type=int, default=10_000)
    parser.add_argument("--work", type=Path, help="keep the model and library here")
    args = parser.parse_args(argv)
    from .data import random_weight_model
    from .run import DEFAULT_ARCH

    with tempfile.TemporaryDirectory(prefix="snapseek-nothing-new-") as tmp:
        work = args.work or Path(tmp)
        spec = random_weight_model(*DEFAULT_ARCH, work / "model")
        print(json.dumps(bench_nothing_new(work, spec, args.photos), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
