"""`make bench` section "scale": a library of N photos at the default model's dimension, through
the real classes: the catalog filled with N clustered vectors (SQLite, as indexing writes them),
then, in a fresh process, the index rebuilt from it as the library rebuilds one (beside the
float16 exact stand-in, which lets go of each block the index holds, answering queries
meanwhile: its peak memory is the figure that counts) and saved; then, in another fresh
process, loaded (VectorIndex.load) and queried (p50, recall@20 against exact search)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .data import clustered_vectors

MODEL_ID = "bench#scale"
QUERIES = 200


def default_dim() -> int:
    import open_clip

    from core.model.offered import DEFAULT_MODEL

    return int(open_clip.get_model_config(DEFAULT_MODEL.split(":")[0])["embed_dim"])


def rss_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            got[line.split(":")[0]] = int(line.split()[1]) / 1024
    return round(got["VmRSS"], 1), round(got["VmHWM"], 1)


def fill_catalog(home: Path, vectors: np.ndarray, batch: int = 5000) -> float:
    from core.store import Catalog

    catalog = Catalog(home / "catalog.db")
    started = time.perf_counter()
    folder = catalog.add_folder(str(home / "Pictures"))
    for start in range(0, len(vectors), batch):
        block = vectors[start:start + batch]
        with catalog.write() as w:
            ids = [catalog.insert_media(w, folder, str(home / "Pictures" / f"IMG_{start + i:07d}"
                                                          ".jpg"), 3_000_000, 0, f"h{start + i}")
                   for i in range(len(block))]
        catalog.store_vectors(MODEL_ID, [(m, v, {"width": 4000, "height": 3000})
                                         for m, v in zip(ids, block, strict=True)], [])
    seconds = time.perf_counter() - started
    catalog.close()
    return seconds


def child_rebuild(home: str) -> None:
    """In a fresh process, a rebuild as the library runs one: the float16 stand-in read from
    the catalog, the index built beside it in blocks (VectorIndex.rebuild) while the stand-in
    lets go of each block the index holds, queries answered meanwhile (RebuildSearch), then
    saved. Reports the build time, the peak memory and those queries."""
    import threading

    from core.search.index import VectorIndex
    from core.search.scoring import ExactSearch, RebuildSearch
    from core.store import Catalog

    home_p = Path(home)
    queries = np.load(home_p / "queries.npy")
    truth = np.load(home_p / "truth.npy")
    dim = queries.shape[1]
    catalog = Catalog(home_p / "catalog.db")
    rss0, _ = rss_mib()

    def rescore(labels):  # as Library._label_vectors: float32 vectors from the catalog
        got, vectors, _ = catalog.vectors(MODEL_ID, ids=sorted(int(x) for x in labels))
        return got, vectors

    t = time.perf_counter()
    standin = ExactSearch.from_blocks(
        catalog.iter_vectors(MODEL_ID, dtype=np.float16, block=VectorIndex.REBUILD_BLOCK),
        dtype=np.float16, exact=rescore)
    standin_s = time.perf_counter() - t
    standin_mib = round(standin.nbytes / 2**20, 1)
    rss_standin, _ = rss_mib()
    index = VectorIndex(home_p / "index.hnsw", MODEL_ID, dim)
    search = RebuildSearch(index, standin)
    done = threading.Event()
    asked: list[tuple[float, int]] = []

    def ask():  # a user searching now and then while the index is rebuilt
        for q, want in zip(queries, truth, strict=True):
            if done.wait(5):
                return
            t = time.perf_counter()
            labels, _ = search.knn(q, 20)
            asked.append((time.perf_counter() - t,
                          len(set(labels.tolist()) & set(want.tolist()))))

    user = threading.Thread(target=ask)
    user.start()
    t = time.perf_counter()
    index.rebuild(catalog, progress=search.taken)
    build_s = time.perf_counter() - t
    done.set()
    user.join()
    rss_end, hwm = rss_mib()
    times = [a[0] for a in asked]
    print(json.dumps({
        "standin_read_s": round(standin_s, 1), "build_s": round(build_s, 1),
        "rss_start_mib": rss0, "rss_standin_mib": rss_standin, "standin_fp16_mib": standin_mib,
        "standin_fp32_would_be_mib": round(standin_mib * 2, 1), "rss_after_build_mib": rss_end,
        "rebuild_peak_rss_mib": hwm, "queries_during_rebuild": len(asked),
        "rebuild_query_p50_ms": round(float(np.median(times)) * 1000, 1) if times else None,
        "rebuild_query_max_ms": round(max(times) * 1000, 1) if times else None,
        "rebuild_query_recall_at_20": round(sum(a[1] for a in asked) / (20 * len(asked)), 4)
        if asked else None}))


def child_load(home: str) -> None:
    """In a fresh process: load, query, memory."""
    from core.search.index import VectorIndex
    from core.store import Catalog

    home_p = Path(home)
    queries = np.load(home_p / "queries.npy")
    truth = np.load(home_p / "truth.npy")
    dim = queries.shape[1]
    catalog = Catalog(home_p / "catalog.db")
    t = time.perf_counter()
    index, state = VectorIndex.load(home_p / "index.hnsw", MODEL_ID, dim, catalog, save=False)
    load_s = time.perf_counter() - t
    assert index is not None, state
    rss_index, _ = rss_mib()
    times, hits = [], 0
    for q, want in zip(queries, truth, strict=True):
        t = time.perf_counter()
        labels, _ = index.knn(q, 20)
        times.append(time.perf_counter() - t)
        hits += len(set(labels.tolist()) & set(want.tolist()))
    # a save while another thread runs (the app's window): hnswlib holds the interpreter lock
    # for its whole write, so the file is written by a forked child (core.search.index.write_apart)
    import threading

    gaps, stop = [0.0], threading.Event()

    def ticker():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = threading.Thread(target=ticker)
    tick.start()
    t = time.perf_counter()
    index.save(catalog)
    save_s = time.perf_counter() - t
    stop.set()
    tick.join()
    print(json.dumps({"load_s": round(load_s, 2), "state": state,
                      "p50_ms": round(float(np.median(times)) * 1000, 3),
                      "recall_at_20": round(hits / (20 * len(queries)), 4),
                      "rss_index_mib": rss_index, "save_s": round(save_s, 2),
                      "save_max_gap_ms": round(max(gaps) * 1000, 1)}))


def in_child(step: str, home: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "benchmarks.scale", step, str(home)],
                          capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode:
        sys.exit(f"benchmarks.scale {step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_scale(sizes: list[int]) -> dict:
    from core.search.index import HNSW_EF_CONSTRUCTION, HNSW_M, ef_for
    from core.search.scoring import ExactSearch

    dim = default_dim()
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="snapseek-scale-") as tmp:
            home = Path(tmp)
            vectors = clustered_vectors(n, dim=dim, seed=3)
            rng = np.random.default_rng(2)
            queries = vectors[rng.integers(0, n, QUERIES)] + rng.standard_normal(
                (QUERIES, dim)).astype(np.float32) * 0.02
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            fill_s = fill_catalog(home, vectors)
            # media ids are 1..n in insertion order: the exact truth in the same labels
            exact = ExactSearch(np.arange(1, n + 1), vectors)
            truth = np.stack([exact.knn(q, 20)[0] for q in queries])
            del exact, vectors
            np.save(home / "queries.npy", queries)
            np.save(home / "truth.npy", truth)
            rebuilt = in_child("--rebuild", home)
            disk = {p.name: p.stat().st_size for p in home.iterdir()
                    if p.name.startswith("catalog.db") or p.suffix == ".hnsw"}
            loaded = in_child("--load", home)
            rows.append({"n": n, "dim": dim, "ef": ef_for(n), "catalog_fill_s": round(fill_s, 1),
                         "catalog_mib": round(sum(v for k, v in disk.items()
                                                  if k.startswith("catalog")) / 2**20, 1),
                         "index_file_mib": round(disk.get("index.hnsw", 0) / 2**20, 1),
                         **rebuilt, **loaded})
            print(f"# scale {n}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    return {"dim": dim, "M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION,
            "threads": os.cpu_count(), "rows": rows}


def markdown(x: dict) -> list[str]:
    lines = ["## 1M photos", "",
             f"Clustered unit vectors of the default model's dimension ({x['dim']}), through the "
             "real classes: the catalog filled as indexing fills it; then, in a fresh process, "
             "a rebuild as the library runs one: the float16 stand-in read from the catalog, the "
             f"index built beside it block by block (M={x['M']}, ef_construction="
             f"{x['ef_construction']}, {x['threads']} cores) while the stand-in lets go of each "
             "block the index holds, a query every 5 s answered meanwhile, then saved; then a "
             f"second fresh process loads it and runs {QUERIES} queries (ef grows with the "
             "index, core.search.index.ef_for; recall@20 against exact search).", "",
             "| photos | ef | catalog fill s | build s | peak RSS during the rebuild (stand-in "
             "fp16 at the start) | queries during the rebuild: p50 / max ms, recall@20 | load s "
             "| query p50 ms | recall@20 | RSS: index loaded | save s (largest stall of another "
             "thread) | catalog on disk | index file |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['n']:,} | {r['ef']} | {r['catalog_fill_s']} | {r['build_s']} | "
              f"{r['rebuild_peak_rss_mib']} MiB ({r['standin_fp16_mib']} MiB) | "
              f"{r['rebuild_query_p50_ms']} / {r['rebuild_query_max_ms']}, "
              f"{r['rebuild_query_recall_at_20']} ({r['queries_during_rebuild']} queries) | "
              f"{r['load_s']} | {r['p50_ms']} | {r['recall_at_20']} | {r['rss_index_mib']} MiB | "
              f"{r.get('save_s')} ({r.get('save_max_gap_ms')} ms) | "
              f"{r['catalog_mib']} MiB | {r['index_file_mib']} MiB |" for r in x["rows"]]
    return lines + [""]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rebuild"]:
        child_rebuild(sys.argv[2])
    elif sys.argv[1:2] == ["--load"]:
        child_load(sys.argv[2])
    else:
        sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
        print(json.dumps(bench_scale(sizes), indent=2))
