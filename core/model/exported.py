"""Text search without torch: the text tower exported to OpenVINO with its tokenizer, once per
model into the library home, so that `snapseek search "dog"` neither imports torch nor loads the
image tower.

At the first full load of a model on the CPU (core/model/embedder.py), its text tower is traced while
still fp32 and saved as OpenVINO IR beside the image tower's (`runtime/<model key>-text.*`), with
its tokenizer (the `tokenizers` library's own file) and a manifest naming the weights file and
its fingerprint. The export is kept only when the light tokenizer gives the same token ids as
open_clip's on probe texts, and the compiled tower's vectors agree with torch fp32's (cosine >=
runtime.MIN_COSINE). A later load finds the manifest, checks the weights are still the same
file, and answers text queries from it; anything else (images, the torch model) loads the full
model on first use. Models with a Hugging Face tokenizer (SigLIP 2, the default; XLM-R...) and
those with CLIP's own BPE (rebuilt as a `tokenizers` file by core/model/cliptokenizer.py) take this
path. A manifest marked `pinned` came with its files from the URLs core/model/offered.py pins
(core/model/download.py): no weights file backs it; its files are trusted by their checksums."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

import numpy as np

from core.files import atomic_path
from core.model import exportcache, runtime
from core.model.cliptokenizer import is_simple_tokenizer, save_clip_tokenizer
from core.model.offered import ModelSpec, file_fingerprint, fingerprint_of
from core.model.textcache import TextCache
from core.osutil import give_back_memory
from core.thirdparty import openvino
from core.types import one_line

log = logging.getLogger(__name__)
VERSION = 3  # 2: the token embedding apart, memory-mapped; 3: the tower's weights in fp16
CLEAN_NAMES = {"_clean_canonicalize": "canonicalize", "_clean_lower": "lower",
               "_clean_whitespace": "whitespace"}


def manifest_path(cache: Path, spec: str) -> Path:
    return cache / f"text-{hashlib.blake2b(spec.encode(), digest_size=10).hexdigest()}.json"


def export_light(emb, threads: int | None = None) -> Path | None:
    """Export the text tower of a fully loaded (still fp32) Embedder; the manifest, or None."""
    tok = emb.tokenizer
    hf = getattr(tok, "tokenizer", None)
    clean = CLEAN_NAMES.get(getattr(getattr(tok, "clean_fn", None), "__name__", ""))
    clip = is_simple_tokenizer(tok)
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
            save_clip_tokenizer(tok, tok_file)
            pad, sep = 0, None  # open_clip pads CLIP's tokens with zeros
        else:
            hf.backend_tokenizer.save(str(tok_file))
            pad = hf.pad_token_id
            sep = hf.sep_token_id if getattr(tok, "strip_sep_token", False) else None
        light = runtime.LightTokenizer(str(tok_file), tok.context_length, clean, pad, sep)
        want = tok(runtime.TEXT_PROBES).numpy()
        if not np.array_equal(light(runtime.TEXT_PROBES), want):
            log.warning("the light tokenizer differs from open_clip's: text stays on torch")
            return None
        xml, table, inputs = runtime.export_text(emb.model, tok.context_length,
                                                 cache / f"{key}-text.xml")
        with torch.inference_mode():
            ref = torch.nn.functional.normalize(
                emb.model.encode_text(torch.from_numpy(want)).float(), dim=-1).numpy()
        for precision in (["bf16"] if runtime.cpu_has_bf16() else []) + ["f32"]:
            tower = runtime.compile_text(xml, light, precision, threads, table, inputs)
            worst = float((tower(runtime.TEXT_PROBES) * ref).sum(1).min())
            if worst >= runtime.MIN_COSINE:
                manifest = {"version": VERSION, "spec": emb.spec, "model_id": emb.model_id,
                            "dim": emb.dim, "image_size": emb.image_size,
                            "weights": emb.weights_path,
                            "fingerprint": fingerprint_of(emb.model_id),
                            "xml": xml.name, "bin": xml.with_suffix(".bin").name,
                            "embed": table.name if table else None, "inputs": inputs,
                            "tokenizer": tok_file.name, "context_length": tok.context_length,
                            "clean": clean, "pad_id": pad, "sep_id": sep,
                            "precision": precision, "min_cosine": round(worst, 6)}
                _write_manifest(path, manifest)
                log.info("text tower exported to OpenVINO %s (cosine to torch fp32 >= %.5f)",
                         precision, worst)
                exportcache.keep(runtime.text_files(xml, table))
                return path
        log.warning("the exported text tower disagrees with torch (cosine %.5f): not used", worst)
    except Exception as exc:  # noqa: BLE001 - any failure: text stays on torch
        log.warning("the light text tower is not used (%s: %s)", type(exc).__name__, exc)
    if xml is not None:
        exportcache.drop(runtime.text_files(xml, table))  # the next load exports afresh
    return None


def open_light(spec: str, cache: Path, threads: int | None, full_loader):
    """A LightEmbedder from the manifest of this model, or None (then the full model loads)."""
    try:
        text = ModelSpec.parse(spec).text
        m = json.loads(manifest_path(cache, text).read_text(encoding="utf-8"))
        if m.get("version") != VERSION or m.get("spec") != text:
            return None
        if m.get("pinned"):  # published, checked by sha256 when downloaded: no weights here
            if m.get("weights") or not installed_pinned(text, cache):
                return None
        elif not m.get("weights") or file_fingerprint(m["weights"]) != m["fingerprint"]:
            return None  # other weights under the same name: export again from the full model
        openvino()  # missing: the full model answers
        import tokenizers  # noqa: F401

        for key in ("xml", "bin", "tokenizer", "embed", "image_xml"):
            if m.get(key) and not (cache / m[key]).exists():
                return None

        def tower(cached: bool = True):  # compiled at the first text query, not before
            tokenizer = runtime.LightTokenizer(str(cache / m["tokenizer"]), m["context_length"],
                                               m["clean"], m["pad_id"], m["sep_id"])
            return runtime.compile_text(cache / m["xml"], tokenizer, usable(m["precision"]),
                                        threads,
                                        cache / m["embed"] if m["embed"] else None,
                                        m["inputs"], cache / "compiled" if cached else None)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - the full model answers instead
        log.info("no light text tower (%s: %s)", type(exc).__name__, exc)
        return None
    return LightEmbedder(m, tower, full_loader, cache, threads)


def installed_pinned(spec: str, cache: Path) -> bool:
    """The export the app's table pins for this model is the one in the cache."""
    from core.model.download import installed
    from core.model.offered import pinned_export

    pinned = pinned_export(spec)
    return pinned is not None and installed(pinned, cache)


def usable(precision: str) -> str:
    """The precision an export agreed in, on this CPU: bf16 only where it is native (an export
    made or published on another machine), else f32, which agrees at least as well."""
    return precision if precision != "bf16" or runtime.cpu_has_bf16() else "f32"


class LightEmbedder:
    """What a text search needs from an Embedder, from the exported text tower; any other
    attribute (encode_images, model, preprocess...) loads the full Embedder on first use."""

    def __init__(self, manifest: dict, tower, full_loader, cache: Path | None = None,
                 threads: int | None = None):
        self._manifest, self._cache, self._threads = manifest, cache, threads
        self._image = None
        self.spec, self.model_id = manifest["spec"], manifest["model_id"]
        self.dim, self.image_size = int(manifest["dim"]), int(manifest["image_size"])
        self.text_precision = f"openvino {manifest['precision']}"
        if manifest.get("image_xml") and cache is not None:  # else asked of the full model
            self.image_runtime = f"openvino {manifest['image_precision']}"
        self.weights_path = manifest["weights"]
        self._make_tower, self._tower = tower, None
        self._load_full, self._full = full_loader, None
        self._full_lock = threading.Lock()
        self._text_cache = TextCache()
        self.exported_again = False  # a tower fell back, and the towers are made afresh

    @property
    def full_loaded(self) -> bool:
        return self._full is not None

    def full(self):
        with self._full_lock:
            if self._full is None:
                self._full = self._load_full()
            return self._full

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.full(), name)

    def _light_images(self) -> bool:
        m = self._manifest
        return self._full is None and bool(m.get("image_xml")) and self._cache is not None

    def prepare(self, image) -> np.ndarray:
        """See Embedder.prepare: the same array, without torch when the exported tower serves."""
        if not self._light_images():
            return self.full().prepare(image)
        return light_preprocess(image, self._manifest["preprocess"])

    def encode_images(self, images) -> np.ndarray:
        """From the exported image tower when the manifest names it and the full model is not
        loaded anyway; else the full Embedder's."""
        if not self._light_images():
            return self.full().encode_images(images)
        if not images:
            return np.empty((0, self.dim), np.float32)
        with self._full_lock:
            if self._image is None:
                self._image = self._compiled("image", self._image_tower)
        return self._image(prepared(self, images))

    def _image_tower(self, cached: bool = True):
        return runtime.compile_tower(self._cache / self._manifest["image_xml"],
                                     usable(self._manifest["image_precision"]), self._threads,
                                     self._cache / "compiled" if cached else None)

    def _compiled(self, tower: str, make):
        """`make(cached)` compiled: with OpenVINO's compiled-model cache, else without it (a
        read-only home fails only the first). A search never fails for it: where neither
        compiles, the full model answers in its place, and a tower whose files no longer read
        (damaged, changed by another program) loses its manifest, so it is exported again."""
        try:
            return make(True)
        except Exception as exc:  # noqa: BLE001 - tried again below
            first = exc
        try:
            built = make(False)
        except Exception as exc:  # noqa: BLE001 - the full model answers
            second = exc
        else:
            log.info("the %s tower compiled without OpenVINO's cache (%s)", tower,
                     one_line(first))
            return built
        said = {one_line(first): None, one_line(second): None}  # each error once, in order
        damaged = self._cache is not None and not self._readable(tower)
        log.warning("the exported %s tower %s (%s): the full model answers%s", tower,
                    "is damaged" if damaged else "could not be compiled", "; ".join(said),
                    ", and the towers are exported again" if damaged else "")
        if damaged:
            try:
                manifest_path(self._cache, self.spec).unlink(missing_ok=True)
                self.exported_again = True  # by the full model, as it loads
            except OSError:  # a read-only home: the full model answers for this session
                pass
        # what this object said of its runtime is the full model's from now on
        self.__dict__.pop("text_precision" if tower == "text" else "image_runtime", None)
        method = "encode_text" if tower == "text" else "encode_images"
        return lambda inputs: getattr(self.full(), method)(list(inputs))

    def _readable(self, tower: str) -> bool:
        """Whether the tower's files read whole (its network, and the text tower's tokenizer
        and token table)."""
        m, cache = self._manifest, self._cache
        try:
            openvino().Core().read_model(str(cache / m["xml" if tower == "text" else "image_xml"]))
            if tower == "text":
                import tokenizers

                tokenizers.Tokenizer.from_file(str(cache / m["tokenizer"]))
                if m.get("embed"):
                    np.load(cache / m["embed"], mmap_mode="r")
        except Exception:  # noqa: BLE001 - any failure to read is damage
            return False
        return True

    def encode_text(self, texts: list[str], truncate: bool = True) -> np.ndarray:
        known = self._text_cache.get(texts[0]) if len(texts) == 1 else None
        if known is not None:
            return known[None, :]
        with self._full_lock:
            if self._tower is None:
                self._tower = self._compiled("text", self._make_tower)
                give_back_memory()  # what compiling it took and no longer needs
        out = self._tower(list(texts))
        if len(texts) == 1:
            self._text_cache.put(texts[0], out[0])
        return out


# -- the image tower without torch: an image query ------------------------------------------------
PIL_FILTERS = {"nearest": 0, "bilinear": 2, "bicubic": 3, "lanczos": 1, "box": 4, "hamming": 5}


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


def prepared(embedder, images) -> np.ndarray:
    """A batch for the image tower: PIL images prepared now, arrays already prepared kept."""
    return np.stack([im if isinstance(im, np.ndarray) else embedder.prepare(im) for im in images])


def light_preprocess(image, steps: list) -> np.ndarray:
    """The steps of describe_preprocess on a PIL image, as torchvision does them: CHW float32."""
    from PIL import Image

    out = None
    for step in steps:
        kind = step[0]
        if kind == "resize":
            size, flt = step[1], PIL_FILTERS[step[2]]
            w, h = image.size
            if isinstance(size, int):  # the shorter side to size, as torchvision rounds it
                short, long = (w, h) if w <= h else (h, w)
                new_long = int(size * long / short)
                new = (size, new_long) if w <= h else (new_long, size)
            else:
                new = (size[1], size[0])
            image = image.resize(new, Image.Resampling(flt))
        elif kind == "crop":
            ch, cw = step[1] if len(step[1]) == 2 else (step[1][0], step[1][0])
            w, h = image.size
            top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
            image = image.crop((left, top, left + cw, top + ch))
        elif kind == "convert":
            image = image.convert(step[1]) if image.mode != step[1] else image
        elif kind == "tensor":
            out = np.asarray(image, np.float32).transpose(2, 0, 1) / np.float32(255.0)
        elif kind == "normalize":
            mean = np.asarray(step[1], np.float32)[:, None, None]
            std = np.asarray(step[2], np.float32)[:, None, None]
            out = (out - mean) / std
    return np.ascontiguousarray(out, np.float32)


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
    _write_manifest(path, manifest)


def _write_manifest(path: Path, manifest: dict) -> None:
    """Whole or not at all: a manifest names files a later start trusts without tracing."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
