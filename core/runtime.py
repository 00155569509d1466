"""A faster runtime for the image tower on CPUs: OpenVINO, in bf16 where the CPU computes
bf16 natively (AVX512-BF16, AMX), otherwise fp32 — kept only when it agrees with torch fp32.

The tower is exported once per model into the library home (`runtime/<model id>.xml/.bin`)
and compiled at start. At every start its vectors for a few probe pictures are compared with
torch fp32's (cosine >= MIN_COSINE for every probe); on any failure — OpenVINO missing, the
export or compile failing, a disagreement — the embedder keeps torch, and says why in the log.
Why OpenVINO: measured in `make bench` (section "runtime") beside torch eager fp32, torch bf16
autocast, and ONNX Runtime."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MIN_COSINE = 0.999


def cpu_has_bf16() -> bool:
    """Native bf16 arithmetic (AVX512-BF16 or AMX): where bf16 is faster, not emulated."""
    try:
        import openvino as ov

        caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - no OpenVINO: the question does not arise
        return False
    if "BF16" not in caps:
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # not Linux: OpenVINO's own answer
    return "avx512_bf16" in flags or "amx_bf16" in flags


class OpenVinoTower:
    """The image tower compiled by OpenVINO: normalised vectors for a float32 NCHW batch."""

    def __init__(self, compiled, precision: str):
        self._compiled = compiled
        self.precision = precision
        self._lock = threading.Lock()  # one inference at a time per compiled model

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            out = self._compiled(np.ascontiguousarray(batch, dtype=np.float32))[0]
        out = np.asarray(out, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def export(visual, image_size: int, path: Path) -> Path:
    """Trace the torch image tower and save it as OpenVINO IR (atomically: a half-written
    export is never loaded)."""
    import openvino as ov
    import torch

    example = torch.zeros(1, 3, image_size, image_size)
    with torch.inference_mode(False), torch.no_grad():
        traced = torch.jit.trace(visual.eval(), example, check_trace=False)
    converted = ov.convert_model(traced, example_input=example)
    converted.reshape([-1, 3, image_size, image_size])  # any batch size
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.xml")
    ov.save_model(converted, str(tmp), compress_to_fp16=False)
    os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
    os.replace(tmp, path)
    return path


def compile_tower(path: Path, precision: str, threads: int | None) -> OpenVinoTower:
    import openvino as ov

    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    return OpenVinoTower(ov.Core().compile_model(str(path), "CPU", config), precision)


def agreement(tower, reference, probes: np.ndarray) -> float:
    """The worst cosine between the runtime's and torch fp32's vectors for the probes."""
    ours = tower(probes)
    ref = np.asarray(reference(probes), dtype=np.float32)
    ref = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    return float((ours * ref).sum(axis=1).min())


def fast_image_tower(visual, image_size: int, cache: Path, model_key: str,
                     reference, probes: np.ndarray, threads: int | None = None):
    """The OpenVINO tower for this model if it agrees with torch, else None (torch stays)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        log.info("OpenVINO is not installed: the image tower runs on torch")
        return None
    precision = "bf16" if cpu_has_bf16() else "f32"
    path = cache / f"{model_key}-{image_size}.xml"
    try:
        if not (path.exists() and path.with_suffix(".bin").exists()):
            export(visual, image_size, path)
        tower = compile_tower(path, precision, threads)
        worst = agreement(tower, reference, probes)
    except Exception as exc:  # noqa: BLE001 - any failure: torch answers, as before
        log.warning("the faster image runtime is not used (%s: %s)", type(exc).__name__, exc)
        return None
    if worst < MIN_COSINE:
        log.warning("the faster image runtime (OpenVINO %s) disagrees with torch (cosine %.5f):"
                    " not used", precision, worst)
        return None
    log.info("image tower on OpenVINO %s (cosine to torch fp32 >= %.5f)", precision, worst)
    return tower
