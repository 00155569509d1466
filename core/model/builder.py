"""Both towers of a model made on this computer from its published files (open_clip's weights
file, its config, its tokenizer), without torch: the graphs of core/model/graphs.py saved as
OpenVINO IR in the library's runtime folder, with the tokenizer file and a manifest that the
light embedder (core/model/exported.py) opens as it opens any other.

The token table stays in the weights file (rows read on demand); the image tower is kept in
fp32 and the text tower's weights in fp16, as the runtime choice keeps exported towers
(docs/PERFORMANCE.md, "Runtime: the choice"). An offered model's towers must pass the meaning
check (core/model/meaning.py) before their manifest is written: until then nothing uses them."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from core.files import atomic_path
from core.model import exported, graphs, runtime
from core.model.family import Architecture, NotCovered, read
from core.model.offered import ModelSpec, file_fingerprint, model_id, offered, runtime_key
from core.model.tokens import TokenizerError, save_clip_tokenizer, save_hf_tokenizer
from core.model.weightsfile import WeightsError, WeightsFile
from core.thirdparty import openvino
from core.types import ModelUnavailable

log = logging.getLogger(__name__)
BUILT = 1  # the builder's version, in the manifests it writes
WEIGHTS = "open_clip_model.safetensors"
CONFIG = "open_clip_config.json"


def architecture(folder: Path) -> tuple[Architecture, WeightsFile, dict]:
    """What the builder would build from a model folder; NotCovered or WeightsError in one
    line where it cannot."""
    weights = folder / WEIGHTS
    if not weights.is_file():
        if (folder / "open_clip_pytorch_model.bin").is_file():
            raise NotCovered("its weights come only as a torch pickle (open_clip_pytorch_model"
                             ".bin), which only torch reads")
        raise WeightsError(f"{folder} has no {WEIGHTS}")
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{folder / CONFIG} cannot be read ({exc})") from exc
    w = WeightsFile(weights)
    return read(config, w), w, config


def _dim(arch: Architecture, w: WeightsFile) -> int:
    p = arch.text.prefix + "text_projection"
    if p in w:
        return w.shape(p)[1]
    if p + ".weight" in w:
        return w.shape(p + ".weight")[0]
    return arch.text.encoder.width


def _tokenizer(arch: Architecture, folder: Path, path: Path) -> dict:
    """The tokenizer file at `path`, and the manifest's fields for it."""
    if arch.text.hf_tokenizer is None:
        save_clip_tokenizer(path)
        return {"pad_id": 0, "pad_left": False, "sep_id": None}
    if not (folder / "tokenizer.json").is_file():
        raise TokenizerError(f"{folder} needs the tokenizer files of {arch.text.hf_tokenizer} "
                             "(tokenizer.json and tokenizer_config.json) beside the weights")
    info = save_hf_tokenizer(folder, path)
    sep = None
    if arch.text.strip_sep:
        from tokenizers import Tokenizer

        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        token = config.get("sep_token")
        token = token.get("content") if isinstance(token, dict) else token
        sep = Tokenizer.from_file(str(path)).token_to_id(token) if token else None
    return {**info, "sep_id": sep}


def build(spec: str, folder: Path, cache: Path, threads: int | None = None,
          check: bool | None = None) -> Path:
    """Build the towers of the model in `folder` into `cache`; the manifest's path. Raises
    NotCovered (a family the builder does not make), or ModelUnavailable in one line."""
    started = time.monotonic()
    spec = ModelSpec.parse(spec).text
    try:
        arch, w, _ = architecture(folder)
        mid = model_id(spec, file_fingerprint(w.path), _dim(arch, w))
        key = runtime_key(mid)
        cache.mkdir(parents=True, exist_ok=True)
        tok_file = cache / f"{key}-tokenizer.json"
        tokens = _tokenizer(arch, folder, tok_file)
    except (WeightsError, TokenizerError, OSError) as exc:
        raise ModelUnavailable(f"Model {spec} cannot be built: {exc}") from exc
    ov = openvino()
    precision = "bf16" if runtime.cpu_has_bf16() else "f32"
    image_xml = cache / f"{key}-{arch.vision.image_size}.xml"
    text_xml = cache / f"{key}-text.xml"
    for xml, make, fp16 in ((image_xml, graphs.image_tower, False),
                            (text_xml, graphs.text_tower, True)):
        part = arch.vision if xml is image_xml else arch.text
        with atomic_path(xml, companions=(".bin",)) as tmp:
            ov.save_model(make(w, part), tmp, compress_to_fp16=fp16)
    table = w.tensors[arch.text.prefix + "token_embedding.weight"].as_dict(w.path)
    manifest = {
        "version": exported.VERSION, "built": BUILT, "spec": spec, "model_id": mid,
        "dim": _dim(arch, w), "image_size": arch.vision.image_size, "weights": str(w.path),
        "fingerprint": mid.rsplit("#", 2)[-2], "xml": text_xml.name,
        "bin": text_xml.with_suffix(".bin").name, "embed": table,
        "inputs": ["tokens", "embeds"] if arch.text.pool == "argmax" else ["embeds"],
        "tokenizer": tok_file.name, "context_length": arch.text.context_length,
        "clean": arch.text.clean, **tokens, "precision": precision,
        "image_xml": image_xml.name, "image_precision": precision,
        "preprocess": arch.preprocess}
    if check if check is not None else offered(spec) is not None:
        _check_meaning(spec, manifest, cache, threads, [image_xml, text_xml, tok_file])
    exported.write_manifest(exported.manifest_path(cache, spec), manifest)
    log.info("towers of %s built from its weights in %.1f s (OpenVINO %s)", spec,
             time.monotonic() - started, precision)
    return exported.manifest_path(cache, spec)


def _check_meaning(spec: str, manifest: dict, cache: Path, threads: int | None,
                   files: list[Path]) -> None:
    from core.model.meaning import misread

    light = exported.LightEmbedder(manifest, exported.text_tower_of(manifest, cache, threads),
                                   _no_full_model, cache, threads)
    wrong = misread(light.encode_images, light.encode_text)
    if wrong:
        for xml in files:
            for f in (xml, xml.with_suffix(".bin")) if xml.suffix == ".xml" else (xml,):
                f.unlink(missing_ok=True)
        raise ModelUnavailable(
            f"Model {spec} built from its weights does not find "
            f"{len(wrong)} of the shipped test pictures by their captions (first: "
            f"\"{wrong[0]}\"): its weights file is damaged or not this model's, so it is not "
            "used. Delete it from the model cache and download it again.")


def _no_full_model():
    raise ModelUnavailable("the meaning check runs on the built towers alone")


def buildable(folder: Path) -> str | None:
    """Why the builder cannot make this folder's towers, or None when it can."""
    try:
        architecture(folder)
    except (NotCovered, WeightsError) as exc:
        return str(exc)
    return None
