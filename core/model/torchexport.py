"""The towers of a model the builder does not cover (core/model/family.py: MobileCLIP2, custom
models), exported from the loaded torch model to OpenVINO where torch is installed: traced
once per model into the library home, and kept only when the exported tower's vectors agree
with torch fp32's (cosine >= MIN_COSINE) and the light tokenizer gives open_clip's token ids.

At the first full load of such a model on the CPU (core/model/embedder.py), its text tower is
traced while still fp32 and saved as OpenVINO IR beside the image tower's, with its tokenizer
(the `tokenizers` library's own file) and a manifest naming the weights file and its
fingerprint; a later load opens them as the light embedder (core/model/exported.py) opens
towers the builder made."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from core.files import atomic_path
from core.model.exported import (
    PIL_FILTERS,
    VERSION,
    light_preprocess,
    manifest_path,
    write_manifest,
)
from core.model.offered import fingerprint_of
from core.model.runtime import (
    MIN_COSINE,
    TEXT_PROBES,
    agreement,
    compile_text,
    compile_tower,
    cpu_has_bf16,
    text_files,
)
from core.model.tokens import LightTokenizer, save_clip_tokenizer
from core.thirdparty import openvino

log = logging.getLogger(__name__)


def _is_simple_tokenizer(tok) -> bool:
    """open_clip's CLIP tokenizer in its plain mode (no reduction of long texts)."""
    return (type(tok).__name__ == "SimpleTokenizer" and hasattr(tok, "bpe_ranks")
            and getattr(tok, "reduction_fn", None) is None)


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
        if not all(f.exists() for f in files):
            export(visual, image_size, path)
        tower = compile_tower(path, precision, threads)
        worst = agreement(tower, reference, probes)
    except Exception as exc:  # noqa: BLE001 - any failure: torch answers, as before
        log.warning("the faster image runtime is not used (%s: %s)", type(exc).__name__, exc)
        _drop(files)  # the next load exports afresh
        return None
    if worst < MIN_COSINE:
        log.warning("the faster image runtime (OpenVINO %s) disagrees with torch (cosine %.5f):"
                    " not used", precision, worst)
        _drop(files)
        return None
    log.info("image tower on OpenVINO %s (cosine to torch fp32 >= %.5f)", precision, worst)
    return tower


def _drop(files: list[Path]) -> None:
    for f in files:
        try:
            f.unlink(missing_ok=True)
        except OSError:  # a read-only home: the next load tries again
            pass


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



CLEAN_NAMES = {"_clean_canonicalize": "canonicalize", "_clean_lower": "lower",
               "_clean_whitespace": "whitespace"}


def export_light(emb, threads: int | None = None) -> Path | None:
    """Export the text tower of a fully loaded (still fp32) Embedder; the manifest, or None."""
    tok = emb.tokenizer
    hf = getattr(tok, "tokenizer", None)
    clean = CLEAN_NAMES.get(getattr(getattr(tok, "clean_fn", None), "__name__", ""))
    clip = _is_simple_tokenizer(tok)
    if clean is None or not clip and (
            hf is None or not hasattr(hf, "backend_tokenizer")
            or getattr(tok, "tokenizer_mode", "") or hf.pad_token_id is None):
        return None  # neither CLIP's BPE nor a standard Hugging Face tokenizer: text on torch
    cache = emb.runtime_cache
    path = manifest_path(cache, emb.spec)
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if known.get("model_id") == emb.model_id and known.get("version") == VERSION and all(
                (cache / known[k]).exists() for k in ("xml", "bin", "tokenizer")
                if known[k]):
            return path
    except (OSError, ValueError, KeyError):
        pass
    xml = table = None
    try:
        import torch

        key = emb.runtime_key()
        tok_file = cache / f"{key}-tokenizer.json"
        cache.mkdir(parents=True, exist_ok=True)
        if clip:
            save_clip_tokenizer(tok_file)
            pad, sep = 0, None  # open_clip pads CLIP's tokens with zeros
        else:
            hf.backend_tokenizer.save(str(tok_file))
            pad = hf.pad_token_id
            sep = hf.sep_token_id if getattr(tok, "strip_sep_token", False) else None
        light = LightTokenizer(str(tok_file), tok.context_length, clean, pad, sep)
        want = tok(TEXT_PROBES).numpy()
        if not np.array_equal(light(TEXT_PROBES), want):
            log.warning("the light tokenizer differs from open_clip's: text stays on torch")
            return None
        xml, table, inputs = export_text(emb.model, tok.context_length,
                                                 cache / f"{key}-text.xml")
        with torch.inference_mode():
            ref = torch.nn.functional.normalize(
                emb.model.encode_text(torch.from_numpy(want)).float(), dim=-1).numpy()
        for precision in (["bf16"] if cpu_has_bf16() else []) + ["f32"]:
            tower = compile_text(xml, light, precision, threads,
                                 np.load(table, mmap_mode="r") if table else None, inputs)
            worst = float((tower(TEXT_PROBES) * ref).sum(1).min())
            if worst >= MIN_COSINE:
                manifest = {"version": VERSION, "spec": emb.spec, "model_id": emb.model_id,
                            "dim": emb.dim, "image_size": emb.image_size,
                            "weights": emb.weights_path,
                            "fingerprint": fingerprint_of(emb.model_id),
                            "xml": xml.name, "bin": xml.with_suffix(".bin").name,
                            "embed": table.name if table else None, "inputs": inputs,
                            "tokenizer": tok_file.name, "context_length": tok.context_length,
                            "clean": clean, "pad_id": pad, "sep_id": sep,
                            "precision": precision, "min_cosine": round(worst, 6)}
                write_manifest(path, manifest)
                log.info("text tower exported to OpenVINO %s (cosine to torch fp32 >= %.5f)",
                         precision, worst)
                return path
        log.warning("the exported text tower disagrees with torch (cosine %.5f): not used", worst)
    except Exception as exc:  # noqa: BLE001 - any failure: text stays on torch
        log.warning("the light text tower is not used (%s: %s)", type(exc).__name__, exc)
    if xml is not None:
        _drop(text_files(xml, table))  # the next load exports afresh
    return None


def describe_preprocess(preprocess) -> list | None:
    """open_clip's torchvision preprocessing as plain steps, or None if a step is unknown."""
    steps = []
    for t in getattr(preprocess, "transforms", None) or []:
        name = type(t).__name__
        if name == "Resize" and getattr(t, "max_size", None) is None:
            interp = getattr(t.interpolation, "value", str(t.interpolation))
            if interp not in PIL_FILTERS:
                return None
            size = t.size if isinstance(t.size, int) else list(t.size)
            steps.append(["resize", size, interp])
        elif name == "CenterCrop":
            steps.append(["crop", list(t.size)])
        elif name in ("MaybeConvertMode", "_convert_to_rgb"):
            steps.append(["convert", getattr(t, "mode", "RGB")])
        elif name in ("MaybeToTensor", "ToTensor"):
            steps.append(["tensor"])
        elif name == "Normalize":
            steps.append(["normalize", list(t.mean), list(t.std)])
        else:
            return None
    return steps or None


def add_image_tower(emb, tower_path: Path, precision: str) -> None:
    """Name the exported image tower in the manifest when the light preprocessing gives
    torch's tensors for the probe pictures: an image query then needs no torch either."""
    path = manifest_path(emb.runtime_cache, emb.spec)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if manifest.get("model_id") != emb.model_id:
        return
    steps = describe_preprocess(emb.preprocess)
    if steps is None:
        return
    from PIL import Image

    rng = np.random.default_rng(3)
    for w, h in ((320, 240), (240, 333), (517, 301)):
        im = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        if np.abs(light_preprocess(im, steps) - emb.preprocess(im).numpy()).max() > 1e-4:
            log.info("the light preprocessing differs from torch's: image queries load torch")
            return
    manifest.update({"image_xml": tower_path.name, "image_precision": precision,
                     "preprocess": steps})
    write_manifest(path, manifest)
