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
import threading
from pathlib import Path

import numpy as np

from core.files import atomic_path
from core.model import exportcache
from core.osutil import native_bf16
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


def _converted(module, example: tuple):
    """The module as OpenVINO sees it, any batch size: through torch.export where the module
    allows it (torch.jit.trace is deprecated), else through the tracer. Either is checked
    against torch before it is used (agreement(), the text tower's probes)."""
    ov = openvino()
    import torch

    with torch.inference_mode(False), torch.no_grad():
        try:
            batch = torch.export.Dim("batch", min=1, max=4096)
            graph = torch.export.export(module, example,
                                        dynamic_shapes=tuple({0: batch} for _ in example))
            return ov.convert_model(graph)
        except Exception as exc:  # noqa: BLE001 - an op torch.export cannot take: trace
            log.info("%s is traced instead of exported (%s: %s)", type(module).__name__,
                     type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            traced = torch.jit.trace(module, example, check_trace=False)
    return ov.convert_model(traced, example_input=example)


def export(visual, image_size: int, path: Path) -> Path:
    """The torch image tower saved as OpenVINO IR (atomically: a half-written export is never
    loaded)."""
    ov = openvino()
    import torch

    # a batch of two: a batch of one would be taken as the only size there is
    converted = _converted(visual.eval(), (torch.zeros(2, 3, image_size, image_size),))
    converted.reshape([-1, 3, image_size, image_size])  # any batch size
    with atomic_path(path, companions=(".bin",)) as tmp:
        ov.save_model(converted, tmp, compress_to_fp16=False)
    return path


def compile_tower(path: Path, precision: str, threads: int | None,
                  compiled_cache: Path | None = None) -> OpenVinoTower:
    """`compiled_cache`: as compile_text's."""
    ov = openvino()

    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    if compiled_cache is not None:
        config["CACHE_DIR"] = str(compiled_cache)
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
        openvino()
    except ImportError:
        log.info("OpenVINO is not installed: the image tower runs on torch")
        return None
    precision = "bf16" if cpu_has_bf16() else "f32"
    path = cache / f"{model_key}-{image_size}.xml"
    files = [path.with_suffix(".bin"), path]  # the one a reader looks for last
    try:
        if not all(f.exists() for f in files) and not exportcache.take(files):
            export(visual, image_size, path)
        tower = compile_tower(path, precision, threads)
        worst = agreement(tower, reference, probes)
    except Exception as exc:  # noqa: BLE001 - any failure: torch answers, as before
        log.warning("the faster image runtime is not used (%s: %s)", type(exc).__name__, exc)
        exportcache.drop(files)  # the next load exports afresh
        return None
    if worst < MIN_COSINE:
        log.warning("the faster image runtime (OpenVINO %s) disagrees with torch (cosine %.5f):"
                    " not used", precision, worst)
        exportcache.drop(files)
        return None
    log.info("image tower on OpenVINO %s (cosine to torch fp32 >= %.5f)", precision, worst)
    exportcache.keep(files)
    return tower


# -- the text tower without torch: what a command-line text search needs -------------------------
TEXT_PROBES = ["a photo of a dog", "our family at the beach last summer", "receipt",
               "Snow on the mountains at sunset, seen from a small wooden cabin window!",
               "2 cats & a dog", "fête à Paris"]


def _canonicalize(text: str) -> str:
    """open_clip's 'canonicalize' cleaning (lower case, no punctuation), without torch."""
    import string

    text = text.replace("_", " ").translate(str.maketrans("", "", string.punctuation)).lower()
    return " ".join(text.split()).strip()


def _basic_clean(text: str) -> str:
    import html

    import ftfy

    return html.unescape(html.unescape(ftfy.fix_text(text))).strip()


CLEANERS = {
    "canonicalize": lambda t: _canonicalize(_basic_clean(t)),
    "lower": lambda t: " ".join(_basic_clean(t).split()).lower(),
    "whitespace": lambda t: " ".join(_basic_clean(t).split()),
}


class LightTokenizer:
    """open_clip's HFTokenizer (standard mode) on the `tokenizers` library alone: no torch,
    no transformers. Token ids as int64 numpy arrays, padded to the context length."""

    def __init__(self, tokenizer_json: str, context_length: int, clean: str, pad_id: int,
                 sep_id: int | None = None):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(tokenizer_json)
        self._tok.no_padding()
        self._tok.enable_truncation(context_length)
        self.context_length, self.pad_id, self.sep_id = context_length, pad_id, sep_id
        self._clean = CLEANERS[clean]

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.full((len(texts), self.context_length), self.pad_id, np.int64)
        for row, enc in zip(out, self._tok.encode_batch([self._clean(t) for t in texts]),
                            strict=True):
            row[:len(enc.ids)] = enc.ids
        if self.sep_id is not None:
            out[out == self.sep_id] = 0
        return out


class TextTower:
    """The text tower compiled by OpenVINO: normalised vectors for texts. With `table`, the
    token embedding is looked up here, from a memory-mapped matrix (only the rows a query uses
    are read), and the compiled part starts after it: SigLIP 2's 256k-token table (786 MB in
    fp32) never becomes resident."""

    def __init__(self, compiled, tokenizer: LightTokenizer, precision: str,
                 table: np.ndarray | None = None, inputs: tuple[str, ...] = ("tokens",)):
        self._compiled, self.tokenizer, self.precision = compiled, tokenizer, precision
        self._table, self._inputs = table, inputs
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(texts)
        feed = {"tokens": tokens}
        if self._table is not None:
            feed["embeds"] = np.ascontiguousarray(self._table[tokens], dtype=np.float32)
        with self._lock:
            out = np.asarray(self._compiled([feed[k] for k in self._inputs])[0], np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _embedding_owner(model):
    """The module holding the text tower's token embedding (CLIP itself, or its `text`)."""
    import torch

    for owner in (getattr(model, "text", None), model):
        if isinstance(getattr(owner, "token_embedding", None), torch.nn.Embedding):
            return owner
    return None


def export_text(model, context_length: int, path: Path) -> tuple[Path, Path | None, list[str]]:
    """Trace the torch text tower and save it as OpenVINO IR: (xml, the token embedding table
    saved apart as .npy or None, the IR's inputs in order: "tokens" and/or "embeds")."""
    ov = openvino()
    import torch

    owner = _embedding_owner(model)
    table_path = path.with_name(f"{path.stem}-embed.npy") if owner is not None else None
    files = text_files(path, table_path)
    if exportcache.take(files):  # another home's, same weights
        try:
            return path, table_path, _input_names(ov.Core().read_model(str(path)))
        except Exception as exc:  # noqa: BLE001 - damaged: made afresh below
            log.info("the machine's export %s is not used (%s)", path.name, exc)
            exportcache.drop(files)

    class Given(torch.nn.Module):  # stands in for the embedding: returns the embeds input
        value = None

        def forward(self, tokens):
            return self.value

    class Text(torch.nn.Module):
        def __init__(self, clip, given):
            super().__init__()
            self.clip, self.given = clip, given

        def forward(self, tokens, embeds=None):
            if embeds is not None:
                self.given.value = embeds
            return self.clip.encode_text(tokens)

    tokens = torch.zeros(2, context_length, dtype=torch.long)
    original = None
    path.parent.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        original = owner.token_embedding
        table = original.weight.detach().float().numpy()
        with atomic_path(table_path) as tmp, open(tmp, "wb") as f:
            np.save(f, table)
        example = (tokens, torch.from_numpy(table[tokens.numpy()]))
    else:
        example = (tokens,)
    given = Given()
    try:
        if owner is not None:
            owner.token_embedding = given
        converted = _converted(Text(model, given).eval(), example)
    finally:
        if owner is not None:
            owner.token_embedding = original
    names = _input_names(converted)
    converted.reshape({port: [-1, context_length] + ([example[1].shape[-1]] if n == "embeds"
                                                      else [])
                       for port, n in zip(converted.inputs, names, strict=True)})
    # weights stored as fp16: half the file and half of what a search maps in (the tower runs
    # in bf16 or fp32 all the same); the export is kept only if it agrees with torch fp32
    with atomic_path(path, companions=(".bin",)) as tmp:
        ov.save_model(converted, tmp, compress_to_fp16=True)
    return path, table_path, names


def _input_names(model) -> list[str]:
    """The text tower's inputs in order: "tokens" and/or "embeds" (an input the tower never
    reads may have been dropped by the conversion)."""
    return ["embeds" if port.get_partial_shape().rank.get_length() == 3 else "tokens"
            for port in model.inputs]


def text_files(xml: Path, table: Path | None) -> list[Path]:
    """An exported text tower's files, the one a reader looks for last."""
    return ([table] if table is not None else []) + [xml.with_suffix(".bin"), xml]


def compile_text(path: Path, tokenizer: LightTokenizer, precision: str,
                 threads: int | None = None, table: Path | None = None,
                 inputs: tuple[str, ...] = ("tokens",), compiled_cache: Path | None = None
                 ) -> TextTower:
    """`compiled_cache`: OpenVINO keeps the compiled model there, so the next process imports
    it instead of compiling again (0.4 s instead of 1-1.5 s for SigLIP 2's text tower here)."""
    ov = openvino()

    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    if compiled_cache is not None:
        config["CACHE_DIR"] = str(compiled_cache)
    matrix = np.load(table, mmap_mode="r") if table is not None else None
    return TextTower(ov.Core().compile_model(str(path), "CPU", config), tokenizer, precision,
                     matrix, tuple(inputs))
