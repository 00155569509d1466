"""The one way in to third-party libraries that would otherwise phone home: each is imported
here with its telemetry off, and nowhere else (tests/test_architecture.py keeps direct imports
out). What each sends and how it is stopped:

- ONNX Runtime (RapidOCR comes with it; Snapseek runs RapidOCR's networks on OpenVINO and never
  loads it, but a benchmark's baseline does): from 1.29 on Linux and macOS too, it queues
  "ProcessInfo" events (processor, OS, memory, the Python executable's path, a persistent
  device id) in ~/.cache/Microsoft/DeveloperTools/.onnxruntime and sends them to
  mobile.events.data.microsoft.com. `ORT_DISABLE_TELEMETRY=1`, read once when its environment
  is first made, keeps both from happening (`disable_telemetry_events()` comes too late).
- OpenVINO: its converter sends usage events to Google Analytics unless the user opted out with
  Intel's tool (no consent file counts as consent), from a forked process at every conversion
  and at its import. With `openvino_telemetry` unimportable from the moment core is imported,
  OpenVINO uses its built-in stub, which sends nothing.
- huggingface_hub and transformers: a usage ping with each download unless
  `HF_HUB_DISABLE_TELEMETRY=1` (a model download is the one connection Snapseek makes, and only
  when the user's model is not on disk yet).
- torch (imported by open_clip's dependencies): its compiler makes `torchinductor_<user>` in the
  temporary folder at import and leaves it there; its caches go to the app's cache folder.
"""

from __future__ import annotations

import os
import sys
import threading

# set before any of these libraries is imported (telemetry_off() runs when core is imported)
TELEMETRY_OFF = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",  # the cross-tool convention; huggingface_hub honours it too
}


def telemetry_off() -> None:
    """Every library's opt-out in this process's environment (and so its children's). Set, not
    defaulted: a value inherited from the shell must not turn telemetry back on. Libraries'
    caches go to the app's cache folder unless the user chose another."""
    os.environ.update(TELEMETRY_OFF)
    # OpenVINO sends an event as it is imported, whoever imports it: from here on, in this
    # process, it finds its telemetry unimportable and uses its stub
    sys.modules.setdefault("openvino_telemetry", None)
    for name, sub in (("TORCHINDUCTOR_CACHE_DIR", "torch"), ("TRITON_CACHE_DIR", "triton")):
        if name not in os.environ:
            os.environ[name] = os.path.join(cache_folder(), sub)


def cache_folder() -> str:
    """The app's cache folder (the log, libraries' caches); made by whoever writes in it."""
    import platformdirs

    return platformdirs.user_cache_dir("snapseek", appauthor=False)


def openvino():
    """The OpenVINO module, without its telemetry (see the module's docstring)."""
    telemetry_off()
    if sys.modules["openvino_telemetry"] is not None:  # imported before this ran: silenced
        from openvino_telemetry.backend.backend import TelemetryBackend

        backends = [TelemetryBackend]
        while backends:  # every way out (Google Analytics 3 and 4) sends nothing
            backend = backends.pop()
            backend.send = lambda self, message: None
            backends += backend.__subclasses__()
    import openvino as ov

    return ov


def openvino_ops():
    """OpenVINO's graph API (its opset 13), for the towers built from the weights."""
    openvino()
    import openvino.opset13 as ops

    return ops


def onnxruntime():
    """The ONNX Runtime module, its telemetry off before its environment is first made."""
    telemetry_off()
    import onnxruntime as ort

    ort.disable_telemetry_events()  # also off for this process should the variable be ignored
    return ort


_rapidocr_lock = threading.Lock()


def rapidocr(session=None, **options):
    """A RapidOCR engine. With `session`, a class that stands for its ONNX Runtime sessions
    (core/text/ocr.py runs its networks on OpenVINO): RapidOCR's steps around the networks stay, and
    ONNX Runtime is never imported where RapidOCR was not imported before. Without it, RapidOCR
    as it comes, on an ONNX Runtime imported through onnxruntime() above."""
    import importlib
    import types

    engine_module = "rapidocr_onnxruntime.utils.infer_engine"
    with _rapidocr_lock:  # the parts' module globals are set for one construction at a time
        loaded = sys.modules.get(engine_module)
        if session is not None and loaded is None:
            stand_in = types.ModuleType(engine_module)
            stand_in.OrtInferSession, stand_in.stands_in = session, True
            sys.modules[engine_module] = stand_in
        elif session is None:
            onnxruntime()
            if getattr(loaded, "stands_in", False):  # ONNX Runtime's own, this time
                del sys.modules[engine_module]
        real = session or importlib.import_module(engine_module).OrtInferSession
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.ch_ppocr_cls import text_cls
        from rapidocr_onnxruntime.ch_ppocr_det import text_detect
        from rapidocr_onnxruntime.ch_ppocr_rec import text_recognize

        parts = (text_detect, text_cls, text_recognize)
        before = [part.OrtInferSession for part in parts]
        try:  # the parts make their sessions from the name they imported
            for part in parts:
                part.OrtInferSession = real
            return RapidOCR(**options)
        finally:
            for part, original in zip(parts, before, strict=True):
                part.OrtInferSession = original
