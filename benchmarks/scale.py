"""`make bench` section "scale": a library of N photos at the default model's dimension, through
the real classes: the catalog filled with N clustered vectors (SQLite, as indexing writes them),
the index rebuilt from it (VectorIndex.rebuild) and saved, then, in a fresh process, loaded
(VectorIndex.load), queried (p50, recall@20 against exact search) and its resident memory read
with the exact stand-in used during rebuilds (ExactSearch over float16 vectors) beside it."""

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

    from core.models import DEFAULT_MODEL

    return int(open_clip.get_model_config(DEFAULT_MODEL.split(":")[0])["embed_dim"])


def rss_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            got[line.split(":")[0]] = int(line.split()[1]) / 1024
    return round(got["VmRSS"], 1), round(got["VmHWM"], 1)


def fill_catalog(home: Path, vectors: np.ndarray, batch: int = 5000) -> float:
    from core.catalog import Catalog

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


def child(home: str) -> None:
    """In a fresh process: load, query, memory."""
    from core.catalog import Catalog
    from core.index import VectorIndex
    from core.search import ExactSearch

    home_p = Path(home)
    queries = np.load(home_p / "queries.npy")
    truth = np.load(home_p / "truth.npy")
    dim = queries.shape[1]
    rss0, _ = rss_mib()
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
    # the stand-in, as the library makes it: read straight into float16
    ids, matrix, _ = catalog.vectors(MODEL_ID, dtype=np.float16)
    exact = ExactSearch(ids, matrix, dtype=np.float16)
    fp32_bytes = matrix.nbytes * 2
    del matrix, ids
    rss_both, hwm = rss_mib()
    t = time.perf_counter()
    exact.knn(queries[0], 20)
    exact_ms = (time.perf_counter() - t) * 1000
    print(json.dumps({"load_s": round(load_s, 2), "state": state,
                      "p50_ms": round(float(np.median(times)) * 1000, 3),
                      "recall_at_20": round(hits / (20 * len(queries)), 4),
                      "rss_start_mib": rss0, "rss_index_mib": rss_index,
                      "rss_index_and_fp16_standin_mib": rss_both, "peak_rss_mib": hwm,
                      "standin_fp16_mib": round(exact.matrix.nbytes / 2**20, 1),
                      "standin_fp32_would_be_mib": round(fp32_bytes / 2**20, 1),
                      "standin_query_ms": round(exact_ms, 1)}))


def bench_scale(sizes: list[int]) -> dict:
    from core.catalog import Catalog
    from core.index import HNSW_EF_CONSTRUCTION, HNSW_M, VectorIndex, ef_for
    from core.search import ExactSearch

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
            catalog = Catalog(home / "catalog.db")
            index = VectorIndex(home / "index.hnsw", MODEL_ID, dim)
            t = time.perf_counter()
            index.rebuild(catalog)  # read from the catalog, build, save
            build_s = time.perf_counter() - t
            del index
            catalog.close()
            disk = {p.name: p.stat().st_size for p in home.iterdir()
                    if p.name.startswith("catalog.db") or p.suffix == ".hnsw"}
            done = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--child", str(home)],
                                  capture_output=True, text=True, check=True,
                                  cwd=Path(__file__).resolve().parent.parent)
            got = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"n": n, "dim": dim, "ef": ef_for(n), "catalog_fill_s": round(fill_s, 1),
                         "build_s": round(build_s, 1),
                         "catalog_mib": round(sum(v for k, v in disk.items()
                                                  if k.startswith("catalog")) / 2**20, 1),
                         "index_file_mib": round(disk.get("index.hnsw", 0) / 2**20, 1), **got})
            print(f"# scale {n}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    return {"dim": dim, "M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION,
            "threads": os.cpu_count(), "rows": rows}


def markdown(x: dict) -> list[str]:
    lines = ["## 1M photos", "",
             f"Clustered unit vectors of the default model's dimension ({x['dim']}), through the "
             "real classes: the catalog filled as indexing fills it, the index rebuilt from it "
             f"(M={x['M']}, ef_construction={x['ef_construction']}, {x['threads']} cores) and "
             f"saved; then a fresh process loads it, runs {QUERIES} queries (ef grows with the index, "
             "core.index.ef_for; "
             "recall@20 against exact search) and builds the exact stand-in used during "
             "rebuilds (float16).", "",
             "| photos | ef | catalog fill s | build s | load s | query p50 ms | recall@20 | RSS: "
             "index | RSS: index + fp16 stand-in | stand-in fp16 (fp32 would be) | catalog on "
             "disk | index file |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['n']:,} | {r.get('ef', '')} | {r['catalog_fill_s']} | {r['build_s']} | {r['load_s']} | "
              f"{r['p50_ms']} | {r['recall_at_20']} | {r['rss_index_mib']} MiB | "
              f"{r['rss_index_and_fp16_standin_mib']} MiB | {r['standin_fp16_mib']} MiB "
              f"({r['standin_fp32_would_be_mib']} MiB) | {r['catalog_mib']} MiB | "
              f"{r['index_file_mib']} MiB |" for r in x["rows"]]
    return lines + [""]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
        print(json.dumps(bench_scale(sizes), indent=2))
