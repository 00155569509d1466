"""The default model's indexing rate on a CUDA GPU, beside the CPU of the same machine.

Random weights in the default architecture (core.model.offered.DEFAULT_MODEL, saved as a local-dir
model) and N photo-like 12 MP JPEGs (made in parallel). Measured, on one machine:

- the image tower alone on the GPU: batches of 64 and of 16 (what the indexing pipeline hands
  the model), fp32 as core/model/embedder.py runs it on cuda, and bf16 autocast beside it (which the
  embedder does NOT use on cuda: a what-if); warm-up first, torch.cuda.synchronize, median of 3;
- Embedder.encode_images on 16 decoded pictures (CPU preprocessing, copies to and from the GPU);
- decoding alone (open_image + thumbnail, as the pipeline does) in the pipeline's thread count;
- end-to-end indexing through core.library.Library(home, model=spec, device=...), as
  benchmarks/run.py:bench_indexing does it (the model warmed with one batch, add_folder, time
  update(), close), with device "cuda" and "cpu", a fresh home per run, median photos/s.

Prints one JSON object; also writes it to --out, or to $OUT/gpu.json when OUT is set.

    python -m benchmarks.gpu [--photos 192] [--cpu-photos N] [--runs 3] [--device both|cuda|cpu]
                             [--work DIR] [--out PATH] [--photos-only]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool
from pathlib import Path

from core.model.offered import DEFAULT_MODEL

from .data import photo_like_jpeg, random_weight_model

COMMAND = "python -m benchmarks.gpu"
TOWER_BATCHES = (64, 16)
TOWER_ITERS = 20  # model calls per timed repetition
REPEATS = 3


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def _make_one(args: tuple[str, int]) -> str:
    path, seed = args
    if not os.path.exists(path):
        photo_like_jpeg(Path(path), seed=seed)
    return path


def make_photos(folder: Path, n: int) -> tuple[list[Path], float]:
    """n photo-like 12 MP JPEGs in folder (kept ones reused), made on every core."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(str(folder / f"IMG_{i:04d}.jpg"), i) for i in range(n)]
    started = time.perf_counter()
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    try:
        with Pool(workers) as pool:
            done = pool.map(_make_one, jobs, chunksize=1)
    except OSError as exc:  # no process pool here (no /dev/shm, say): threads, slower
        log(f"no process pool ({exc}): making the photos in threads")
        with ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(_make_one, jobs))
    return [Path(p) for p in done], time.perf_counter() - started


def subset(folder: Path, paths: list[Path], n: int) -> Path:
    """A folder of the first n photos (hard links), for shorter CPU runs."""
    if n >= len(paths):
        return folder
    out = folder.parent / f"{folder.name}-first{n}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for p in paths[:n]:
        try:
            os.link(p, out / p.name)
        except OSError:
            shutil.copy2(p, out / p.name)
    return out


def machine() -> dict:
    import torch

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        from core.thirdparty import openvino

        ov = openvino().get_version()
    except Exception:  # noqa: BLE001 - missing or broken: the CPU path runs torch
        ov = None
    cuda = torch.cuda.is_available()
    return {"gpu": torch.cuda.get_device_name(0) if cuda else None,
            "torch": torch.__version__, "cuda_runtime": torch.version.cuda,
            "cpu": cpu, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "openvino": ov,
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32 if cuda else None}


def bench_tower(spec: str, device: str = "cuda") -> dict:
    """The image tower alone on the device, as core/model/embedder.py loads and runs it there (torch
    fp32; on cuda no runtime cache is involved)."""
    import torch

    from core.model.embedder import Embedder

    kind = device.split(":")[0]
    sync = torch.cuda.synchronize if kind == "cuda" else (lambda: None)
    emb = Embedder.load(spec, device)
    visual = emb.model.visual
    size = emb.image_size
    out: dict = {"image_size": size, "embedder_image_runtime": emb.image_runtime,
                 "iterations_per_repeat": TOWER_ITERS, "repeats": REPEATS}

    def rate(batch: int, bf16: bool) -> dict:
        x = torch.randn(batch, 3, size, size, device=device)
        with torch.inference_mode(), torch.autocast(kind, dtype=torch.bfloat16, enabled=bf16):
            for _ in range(5):  # warm-up: kernels chosen, clocks up
                visual(x)
            sync()
            runs = []
            for _ in range(REPEATS):
                t = time.perf_counter()
                for _ in range(TOWER_ITERS):
                    visual(x)
                sync()
                runs.append(batch * TOWER_ITERS / (time.perf_counter() - t))
        return {"photos_per_s": round(statistics.median(runs), 1),
                "runs": [round(r, 1) for r in runs]}

    for batch in TOWER_BATCHES:
        out[f"fp32_batch{batch}"] = rate(batch, False)
        out[f"bf16_autocast_batch{batch}"] = rate(batch, True)
    out["note"] = ("fp32 is what core/model/embedder.py runs on cuda (no autocast, TF32 off by "
                   "torch's default); bf16 autocast is not used by the app (a what-if)")

    # Embedder.encode_images as the pipeline calls it: 16 decoded pictures at the decode size
    from PIL import Image

    from core.media.thumbnails import decode_size

    side = decode_size(size)
    pics = [Image.new("RGB", (side * 4 // 3, side), (i * 13 % 255, 90, 160)) for i in range(16)]
    emb.encode_images(pics)
    runs = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        for _ in range(5):
            emb.encode_images(pics)
        runs.append(16 * 5 / (time.perf_counter() - t))
    out["encode_images_batch16"] = {
        "photos_per_s": round(statistics.median(runs), 1), "runs": [round(r, 1) for r in runs],
        "picture": f"{side * 4 // 3}x{side}",
        "note": "CPU preprocessing (one thread) + copy to the GPU + tower + copy back"}
    emb = visual = None
    gc.collect()
    if kind == "cuda":
        torch.cuda.empty_cache()
    return out


def bench_decode(paths: list[Path], work: Path, image_size: int) -> dict:
    """Decoding alone as the pipeline's threads do it: open_image at the decode size and the
    thumbnail written; in the pipeline's thread count and on every core."""
    from core.folders.pipeline import IndexingPipeline
    from core.media.imaging import open_image
    from core.media.thumbnails import decode_size, save_thumbnail

    side = decode_size(image_size)
    thumbs = work / "decode-thumbs"
    pipeline_threads = IndexingPipeline(None, None, None, thumbs).decode_workers

    def one(item):
        i, p = item
        save_thumbnail(open_image(p, side).image, thumbs / f"{i}.jpg")

    out = {"pipeline_threads": pipeline_threads}
    for threads in sorted({pipeline_threads, os.cpu_count() or 1}):
        shutil.rmtree(thumbs, ignore_errors=True)
        thumbs.mkdir(parents=True)
        t = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, enumerate(paths)))
        out[f"threads_{threads}_photos_per_s"] = round(len(paths) / (time.perf_counter() - t), 1)
    shutil.rmtree(thumbs, ignore_errors=True)
    return out


def bench_indexing(spec: str, photos: Path, n: int, device: str, runs: int, work: Path) -> dict:
    """benchmarks/run.py:bench_indexing's measurement, on `device`, `runs` fresh homes."""
    from PIL import Image

    from core.library import Library
    from core.types import State

    rates, rows = [], []
    for r in range(runs):
        home = work / f"home-{device}-{r}"
        shutil.rmtree(home, ignore_errors=True)
        t0 = time.perf_counter()
        lib = Library(home, model=spec, device=device)
        emb = lib.load_model()
        warm = Image.new("RGB", (emb.image_size, emb.image_size))
        emb.encode_images([warm] * 16)  # kernels (cuda) / the exported tower (cpu) ready
        load_s = time.perf_counter() - t0
        lib.add_folder(photos)
        first_indexing: list[float] = []

        def progress(p, first=first_indexing):
            if p.state == State.INDEXING and not first:
                first.append(time.perf_counter())

        t = time.perf_counter()
        report = lib.update(on_progress=progress)
        seconds = time.perf_counter() - t
        runtime = getattr(lib.embedder, "image_runtime", None)
        lib.close()
        del lib, emb
        gc.collect()
        rate = n / seconds
        rates.append(rate)
        rows.append({"photos_per_s": round(rate, 2), "update_s": round(seconds, 2),
                     "scan_s": round(first_indexing[0] - t, 2) if first_indexing else None,
                     "embedded": report.embedded, "failed": report.failed,
                     "load_and_warm_s": round(load_s, 1), "image_runtime": runtime})
        log(f"{device} run {r + 1}/{runs}: {rate:.1f} photos/s ({runtime}, "
            f"{report.embedded} embedded, {report.failed} failed)")
        shutil.rmtree(home, ignore_errors=True)
        if device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
    return {"photos": n, "photos_per_s": round(statistics.median(rates), 2), "runs": rows}


def main(argv: list[str] | None = None) -> dict | None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=192, help="12 MP JPEGs (default 192)")
    ap.add_argument("--cpu-photos", type=int, default=None,
                    help="photos for the CPU runs (default: the same as --photos)")
    ap.add_argument("--runs", type=int, default=3, help="indexing runs per device (default 3)")
    ap.add_argument("--device", choices=("both", "cuda", "cpu"), default="both",
                    help="both: cuda (skipped when none is found) and cpu")
    ap.add_argument("--work", type=Path, default=Path("/tmp/snapseek-bench-gpu"))
    ap.add_argument("--out", type=Path, default=None,
                    help="write the JSON here too (default: $OUT/gpu.json when OUT is set)")
    ap.add_argument("--photos-only", action="store_true",
                    help="make the photos in the work folder and stop")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    folder = args.work / "photos"
    paths, made_s = make_photos(folder, args.photos)
    log(f"{len(paths)} photos ready in {made_s:.1f} s")
    if args.photos_only:
        return None

    import torch

    spec = random_weight_model(*DEFAULT_MODEL.split(":", 1), args.work / "model")
    cuda = args.device in ("both", "cuda") and torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        raise SystemExit("no CUDA GPU found")
    result: dict = {
        "what": "the default model's indexing rate on a GPU beside the same machine's CPU "
                "(random weights, photo-like 12 MP JPEGs)",
        "command": f"{COMMAND} " + " ".join(sys.argv[1:] if argv is None else argv),
        "model": DEFAULT_MODEL, "spec": "random weights, local-dir", "machine": machine(),
        "photos": len(paths),
        "mean_file_mb": round(statistics.mean(p.stat().st_size for p in paths) / 2**20, 2),
        "photo_making_s": round(made_s, 1)}
    if cuda:
        log("image tower alone on cuda ...")
        result["image_tower_cuda"] = bench_tower(spec)
    log("decoding alone ...")
    size = result.get("image_tower_cuda", {}).get("image_size") or 256
    result["decode_only"] = bench_decode(paths, args.work, size)
    indexing = {}
    if cuda:
        indexing["cuda"] = bench_indexing(spec, folder, len(paths), "cuda", args.runs, args.work)
    if args.device in ("both", "cpu"):
        n = min(args.cpu_photos or len(paths), len(paths))
        indexing["cpu"] = bench_indexing(spec, subset(folder, paths, n), n, "cpu", args.runs,
                                         args.work)
        if n < len(paths):
            indexing["cpu"]["note"] = f"the CPU runs index the first {n} of the {len(paths)} photos"
    result["indexing"] = indexing
    if "cuda" in indexing and "cpu" in indexing:
        result["cuda_over_cpu"] = round(indexing["cuda"]["photos_per_s"]
                                        / indexing["cpu"]["photos_per_s"], 2)
    result["total_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text, flush=True)
    out = args.out or (Path(os.environ["OUT"]) / "gpu.json" if os.environ.get("OUT") else None)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
