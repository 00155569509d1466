"""`make bench` section "runtime": the default model's image tower on each candidate runtime.

Random weights, a batch of 16, 2 threads. The machine is shared and busy, so every variant is
timed in the same run, in alternating rounds (one batch of each variant per round), and reported
as the median over rounds and as a ratio to torch eager fp32's median; the vectors are compared
with torch fp32's (min cosine over the batch)."""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
COMPILE_LIMIT_S = 420  # torch.compile is tried in a child process killed after this long


def _normalised(x) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _compile_probe(name: str, batch: int, threads: int, rounds: int) -> dict:
    """torch.compile (inductor) in a child: its compile time, and its speed as a ratio to
    eager fp32 measured alternately in that same child."""
    code = f"""
import json, statistics, time, numpy as np, torch, open_clip
torch.set_num_threads({threads}); torch.manual_seed(0)
v = open_clip.create_model({name!r}, pretrained=None).visual.eval()
size = v.image_size if isinstance(v.image_size, int) else v.image_size[0]
x = torch.randn({batch}, 3, size, size)
with torch.inference_mode():
    ref = v(x)
    c = torch.compile(v)
    t = time.perf_counter(); out = c(x); compile_s = time.perf_counter() - t
    e, k = [], []
    for _ in range({rounds}):
        t = time.perf_counter(); v(x); e.append(time.perf_counter() - t)
        t = time.perf_counter(); c(x); k.append(time.perf_counter() - t)
cos = torch.nn.functional.cosine_similarity(ref, out).min().item()
print(json.dumps({{"compile_s": compile_s, "eager_s": statistics.median(e),
                  "compiled_s": statistics.median(k), "min_cosine": cos}}))
"""
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=COMPILE_LIMIT_S)
    except subprocess.TimeoutExpired:
        return {"ok": False, "why": f"not done after {COMPILE_LIMIT_S} s (compile + "
                                    f"{rounds} rounds) on this machine"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return {"ok": False, "why": tail, "seconds": round(time.perf_counter() - started, 1)}
    import json

    r = json.loads(done.stdout.strip().splitlines()[-1])
    return {"ok": True, "compile_s": round(r["compile_s"], 1),
            "ratio": round(r["eager_s"] / r["compiled_s"], 2),
            "img_per_s": round(batch / r["compiled_s"], 2),
            "min_cosine": round(r["min_cosine"], 5)}


def bench_runtime(arch: tuple[str, str], batch: int = 16, threads: int = 2, rounds: int = 7,
                  try_compile: bool = True) -> dict:
    import open_clip
    import torch

    from core.model import runtime, torchexport

    name = arch[0]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    visual = open_clip.create_model(name, pretrained=None).visual.eval()
    size = visual.image_size if isinstance(visual.image_size, int) else visual.image_size[0]
    x = torch.randn(batch, 3, size, size)
    xn = x.numpy()

    variants: dict[str, callable] = {}

    def eager(a):
        with torch.inference_mode():
            return visual(torch.from_numpy(a)).numpy()

    def autocast(a):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return visual(torch.from_numpy(a)).float().numpy()

    variants["torch eager fp32"] = eager
    variants["torch bf16 autocast"] = autocast
    skipped: dict[str, str] = {}
    setup_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="snapseek-runtime-") as tmp:
        tmp = Path(tmp)
        try:
            from core.thirdparty import onnxruntime

            ort = onnxruntime()

            t = time.perf_counter()
            path = tmp / "tower.onnx"
            torch.onnx.export(visual, (x[:1],), str(path), dynamo=False, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                              opset_version=17)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            variants["ONNX Runtime fp32"] = lambda a: session.run(None, {"x": a})[0]
            setup_s["ONNX Runtime fp32"] = round(time.perf_counter() - t, 1)
        except Exception as exc:  # noqa: BLE001 - e.g. the `onnx` package missing
            skipped["ONNX Runtime fp32"] = f"{type(exc).__name__}: {str(exc)[:160]}"
        t = time.perf_counter()
        ir = torchexport.export(visual, size, tmp / "tower.xml")
        export_s = time.perf_counter() - t
        for precision, label in (("f32", "OpenVINO fp32"), ("bf16", "OpenVINO bf16")):
            if precision == "bf16" and not runtime.cpu_has_bf16():
                skipped[label] = "this CPU has no native bf16"
                continue
            t = time.perf_counter()
            variants[label] = runtime.compile_tower(ir, precision, threads)
            setup_s[label] = round(export_s + time.perf_counter() - t, 1)
        reference = _normalised(eager(xn))
        cosines = {k: float((_normalised(f(xn)) * reference).sum(1).min())
                   for k, f in variants.items()}  # also the warm-up of each
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(rounds):  # alternating: a busy moment hits every variant alike
            for k, f in variants.items():
                t = time.perf_counter()
                f(xn)
                times[k].append(time.perf_counter() - t)
    base = statistics.median(times["torch eager fp32"])
    rows = [{"variant": k, "img_per_s": round(batch / statistics.median(v), 2),
             "ratio": round(base / statistics.median(v), 2),
             "min_cosine": round(cosines[k], 5), "setup_s": setup_s.get(k)}
            for k, v in times.items()]
    out = {"model": name, "batch": batch, "threads": threads, "rounds": rounds, "rows": rows,
           "skipped": skipped, "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    if try_compile:
        out["torch_compile"] = _compile_probe(name, batch, threads, max(3, rounds // 2))
    return out


def markdown(x: dict, indexing: dict | None) -> list[str]:
    lines = ["## Runtime", "",
             f"Image tower of {x['model']} (random weights), batch {x['batch']}, {x['threads']} "
             f"threads, {x['rounds']} alternating rounds (one batch of each variant per round; "
             "median per variant), ratio to torch eager fp32 in the same run; min cosine to "
             f"torch fp32 over the batch. Load average at the start: {x['load']:.1f}.", "",
             "| runtime | img/s | ratio to torch fp32 | min cosine to fp32 | export + compile s |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['img_per_s']} | **{r['ratio']}×** | {r['min_cosine']} | "
              f"{r['setup_s'] if r['setup_s'] is not None else '—'} |" for r in x["rows"]]
    c = x.get("torch_compile")
    if c and c["ok"]:
        lines.append(f"| torch.compile (inductor), in a child process | {c['img_per_s']} | "
                     f"**{c['ratio']}×** (to eager in that child) | {c['min_cosine']} | "
                     f"{c['compile_s']} |")
    lines.append("")
    if c and not c["ok"]:
        lines += [f"torch.compile: {c['why']}.", ""]
    for k, why in x.get("skipped", {}).items():
        lines += [f"{k}: not measured ({why}).", ""]
    if indexing:
        lines += ["End to end, indexing 12 MP JPEGs with the default architecture (scan, decode, "
                  "thumbnails, embedding, writes), the three variants alternating, "
                  f"{indexing.get('rounds', 1)} rounds, median:", "",
                  "| variant | img/s | ratio to naive | ratio to the torch fp32 path |",
                  "|---|---|---|---|"]
        for k, label in (("naive", "naive loop (torch fp32, one image per call)"),
                         ("torch", "Snapseek, image tower on torch fp32 (SNAPSEEK_RUNTIME=torch)"),
                         ("runtime", f"Snapseek, image tower on {indexing.get('runtime')}")):
            v = indexing["variants"][k]
            lines.append(f"| {label} | {v['img_per_s']} | {v['ratio_to_naive']}× | "
                         f"{v['ratio_to_torch']}× |")
        lines.append("")
    return lines


def bench_indexing_runtime(work: Path, spec: str, n: int, rounds: int = 2) -> dict:
    """Indexing n 12 MP JPEGs: the naive loop, the pipeline with the image tower on torch fp32,
    and the pipeline on the runtime, alternating in rounds (a fresh library each time)."""
    import shutil

    import torch
    from PIL import Image

    from core.library import Library
    from core.model.embedder import RUNTIME_ENV, Embedder

    from .data import naive_index, photo_like_jpeg

    photos = work / "photos-runtime"
    photos.mkdir(exist_ok=True)
    paths = [photo_like_jpeg(photos / f"IMG_{i:04d}.jpg", seed=i) for i in range(n)]
    os.environ[RUNTIME_ENV] = "torch"
    emb = Embedder.load(spec)  # the naive loop's model: torch fp32
    os.environ.pop(RUNTIME_ENV)
    warm = Image.new("RGB", (emb.image_size, emb.image_size))
    with torch.inference_mode():
        emb.model.encode_image(emb.preprocess(warm).unsqueeze(0))

    def naive(k: int) -> float:
        t = time.perf_counter()
        naive_index(paths, emb, work / f"naive-thumbs-{k}")
        return time.perf_counter() - t

    shared = work / "runtime-export"  # exported once, shared by every round's library

    def library(kind: str, k: int) -> tuple[float, str]:
        home = work / f"home-{kind}-{k}"
        home.mkdir()
        if kind == "torch":
            os.environ[RUNTIME_ENV] = "torch"
        else:
            shared.mkdir(exist_ok=True)
            (home / "runtime").symlink_to(shared, target_is_directory=True)
        try:
            lib = Library(home, model=spec)
            lib.load_model().encode_images([warm] * 16)  # the export (first time) and warm-up
            lib.add_folder(photos)
            t = time.perf_counter()
            lib.update()
            seconds = time.perf_counter() - t
            used = lib.embedder.image_runtime
            lib.close()
        finally:
            os.environ.pop(RUNTIME_ENV, None)
        shutil.rmtree(home, ignore_errors=True)
        return seconds, used

    times: dict[str, list[float]] = {"naive": [], "torch": [], "runtime": []}
    used = "?"
    for k in range(rounds):
        times["naive"].append(naive(k))
        times["torch"].append(library("torch", k)[0])
        seconds, used = library("runtime", k)
        times["runtime"].append(seconds)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"images": n, "rounds": rounds, "runtime": used,
            "variants": {k: {"img_per_s": round(n / med[k], 2),
                             "ratio_to_naive": round(med["naive"] / med[k], 2),
                             "ratio_to_torch": round(med["torch"] / med[k], 2),
                             "runs_s": [round(s, 1) for s in v]} for k, v in times.items()}}
