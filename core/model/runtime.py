"""The towers on the CPU: OpenVINO, in bf16 where the CPU computes bf16 natively (AVX512-BF16,
AMX), otherwise fp32. The towers' files (`runtime/<model key>-*.xml/.bin` in the library home)
are built from the weights (core/model/builder.py) or exported from torch
(core/model/torchexport.py); here they are compiled and run.
Why OpenVINO: measured in `make bench` (section "runtime") beside torch eager fp32, torch bf16
autocast, and ONNX Runtime."""

from __future__ import annotations

import logging
import queue
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.osutil import can_drop_mapped_pages, drop_mapped_pages, native_bf16
from core.thirdparty import openvino

log = logging.getLogger(__name__)


MIN_COSINE = 0.999


def cpu_has_bf16() -> bool:
    """Native bf16 arithmetic (AVX512-BF16 or AMX): where bf16 is faster, not emulated."""
    try:
        ov = openvino()

        caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - no OpenVINO: the question does not arise
        return False
    # OpenVINO says BF16 where it emulates it too; where the CPU's flags can't be read (not
    # Linux), its answer stands
    return "BF16" in caps and native_bf16() is not False


class OpenVinoTower:
    """The image tower compiled by OpenVINO: normalised vectors for a float32 NCHW batch.

    Compiled for throughput: a few streams, each with its own threads and infer request. A
    batch is split across the requests free at the time and its parts run at once; calls from
    several threads run side by side. One stream per core's share of threads does not wait on
    the others at every layer, where one stream on every thread did whenever the decode
    threads took one of its cores."""

    def __init__(self, compiled, precision: str, files: tuple[Path, ...] = ()):
        self._compiled = compiled
        self.precision = precision
        self.requests = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        made = [compiled.create_infer_request() for _ in range(self.requests)]
        for request in made:
            self._free.put(request)
        # a stream reads the weights from the files at its first run of each batch size (the
        # CPU plugin lays them out for the size: another copy of some): those runs settle them
        self._files, self._seen, self._seen_lock = files, set(), threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        requests = [self._free.get()]  # one request waited for, more taken where free now
        while len(requests) < min(self.requests, len(batch)):
            try:
                requests.append(self._free.get_nowait())
            except queue.Empty:
                break
        started = []
        try:
            parts = np.array_split(batch, len(requests)) if len(requests) > 1 else [batch]
            with self._seen_lock:
                fresh = {(id(r), len(p))
                         for r, p in zip(requests, parts, strict=True)} - self._seen
                self._seen |= fresh
            with settling(self._files if fresh else ()):
                for request, part in zip(requests, parts, strict=True):
                    request.start_async(np.ascontiguousarray(part))
                    started.append(request)
                outs = []
                for request in started:
                    request.wait()
                    outs.append(np.array(request.get_output_tensor(0).data, dtype=np.float32))
        finally:
            for request in started:  # never handed back while it runs
                request.wait()
            for request in requests:
                self._free.put(request)
        out = np.concatenate(outs) if len(outs) > 1 else outs[0]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


SETTLE_EVERY_S = 0.25


@contextmanager
def settling(files: tuple):
    """While OpenVINO reads a tower's weights (compiling it, or at a stream's first run, when
    it lays them out for its kernels), the pages of the tower's files go as it goes, and once
    more at the end. OpenVINO keeps the files mapped after it has made its own copy of the
    weights, and without this both are resident: a tower's weights twice (docs/PERFORMANCE.md,
    "First run"). A page dropped is read again from the file if it is needed again."""
    if not any(files) or not can_drop_mapped_pages():
        yield
        return
    done = threading.Event()

    def drop():
        while not done.wait(SETTLE_EVERY_S):
            drop_mapped_pages(files)

    dropper = threading.Thread(target=drop, name="settle", daemon=True)
    dropper.start()
    try:
        yield
    finally:
        done.set()
        dropper.join()
        drop_mapped_pages(files)


def compile_tower(path: Path, precision: str, threads: int | None,
                  compiled_cache: Path | None = None) -> OpenVinoTower:
    """In throughput mode (see OpenVinoTower; indexing 12 MP JPEGs on 2 cores went from 4.9 to
    6.2 photos/s with it, docs/PERFORMANCE.md). `compiled_cache`: as compile_text's."""
    ov = openvino()

    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "THROUGHPUT"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    if compiled_cache is not None:
        config["CACHE_DIR"] = str(compiled_cache)
    files = (path.parent, compiled_cache)
    with settling(files):
        compiled = ov.Core().compile_model(str(path), "CPU", config)
    return OpenVinoTower(compiled, precision, files)


def agreement(tower, reference, probes: np.ndarray) -> float:
    """The worst cosine between the runtime's and torch fp32's vectors for the probes."""
    ours = tower(probes)
    ref = np.asarray(reference(probes), dtype=np.float32)
    ref = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    return float((ours * ref).sum(axis=1).min())


# -- the text tower without torch: what a command-line text search needs -------------------------
TEXT_PROBES = ["a photo of a dog", "our family at the beach last summer", "receipt",
               "Snow on the mountains at sunset, seen from a small wooden cabin window!",
               "2 cats & a dog", "fête à Paris"]


class TextTower:
    """The text tower compiled by OpenVINO: normalised vectors for texts. With `table`, the
    token embedding is looked up here, from a memory-mapped matrix (only the rows a query uses
    are read), and the compiled part starts after it: SigLIP 2's 256k-token table (786 MB in
    fp32) never becomes resident."""

    def __init__(self, compiled, tokenizer, precision: str, table=None,
                 inputs: tuple[str, ...] = ("tokens",), files: tuple[Path, ...] = ()):
        self._compiled, self.tokenizer, self.precision = compiled, tokenizer, precision
        self._table, self._inputs = table, inputs
        self._lock = threading.Lock()
        self._unsettled = files

    def __call__(self, texts: list[str]) -> np.ndarray:
        """One text at a time: OpenVINO's CPU plugin lays the weights out anew for a batch of
        several (a second copy of them, 330 MB for SigLIP 2's text tower), and a query is one
        text (8 texts together took 594 ms instead of 754 here, a query 93-95 ms either way)."""
        tokens = self.tokenizer(texts)
        rows = []
        with self._lock, settling(self._unsettled):
            for one in [t[None] for t in tokens] or [tokens]:  # (no text: one empty batch)
                feed = {"tokens": one}
                if self._table is not None:
                    feed["embeds"] = np.ascontiguousarray(self._table[one], np.float32)
                rows.append(np.asarray(self._compiled([feed[k] for k in self._inputs])[0],
                                       np.float32))
            self._unsettled = ()  # (a first run reads the weights: settled as it goes)
        out = np.concatenate(rows)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def text_files(xml: Path, table: Path | None) -> list[Path]:
    """An exported text tower's files, the one a reader looks for last."""
    return ([table] if table is not None else []) + [xml.with_suffix(".bin"), xml]


def compile_text(path: Path, tokenizer, precision: str,
                 threads: int | None = None, table=None,
                 inputs: tuple[str, ...] = ("tokens",), compiled_cache: Path | None = None
                 ) -> TextTower:
    """`table`: the token embedding looked up before the compiled part (rows by token id: a
    TokenTable, or an array). `compiled_cache`: OpenVINO keeps the compiled model there, so the
    next process imports it instead of compiling again (0.4 s instead of 1-1.5 s for SigLIP
    2's text tower here)."""
    ov = openvino()

    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    if compiled_cache is not None:
        config["CACHE_DIR"] = str(compiled_cache)
    files = (path.parent, compiled_cache)
    with settling(files):
        compiled = ov.Core().compile_model(str(path), "CPU", config)
    return TextTower(compiled, tokenizer, precision, table, tuple(inputs), files)
