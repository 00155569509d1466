"""Searches and indexing without torch: the light embedder answers from a model's towers on
OpenVINO (core/model/runtime.py), with its tokenizer and preprocessing, as a manifest in the
library's runtime folder names them. The towers were built from the weights file
(core/model/builder.py) or, for a family the builder does not cover, exported from torch
(core/model/torchexport.py). A later load finds the manifest, checks the weights are still the
same file, and answers from it; anything it cannot do loads the full model on first use."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import threading
from pathlib import Path

import numpy as np

from core.files import atomic_path
from core.model import runtime
from core.model.offered import ModelSpec, file_fingerprint, runtime_key
from core.model.tokens import LightTokenizer
from core.model.weightsfile import TokenTable
from core.model.textcache import TextCache
from core.osutil import give_back_memory
from core.thirdparty import openvino
from core.types import one_line

log = logging.getLogger(__name__)
VERSION = 3  # 2: the token embedding apart, memory-mapped; 3: the tower's weights in fp16
def manifest_path(cache: Path, spec: str) -> Path:
    return cache / f"text-{hashlib.blake2b(spec.encode(), digest_size=10).hexdigest()}.json"


def open_light(spec: str, cache: Path, threads: int | None, full_loader, rebuild=None):
    """A LightEmbedder from the manifest of this model, or None (then the full model loads).
    `rebuild(spec, folder, cache, threads)`: builds towers the builder made again, from the
    weights in `folder`, when their files no longer read (core/model/light.py gives it)."""
    try:
        text = ModelSpec.parse(spec).text
        m = json.loads(manifest_path(cache, text).read_text(encoding="utf-8"))
        if m.get("version") != VERSION or m.get("spec") != text:
            return None
        if not m.get("weights") or file_fingerprint(m["weights"]) != m["fingerprint"]:
            return None  # other weights under the same name: made again from them
        openvino()  # missing: the full model answers
        import tokenizers  # noqa: F401

        for key in ("xml", "bin", "tokenizer", "image_xml"):
            if m.get(key) and not (cache / m[key]).exists():
                return None
        if isinstance(m.get("embed"), str) and not (cache / m["embed"]).exists():
            return None
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - the full model answers instead
        log.info("no light text tower (%s: %s)", type(exc).__name__, exc)
        return None
    return LightEmbedder(m, text_tower_of(m, cache, threads), full_loader, cache, threads,
                         rebuild)


def token_table(m: dict, cache: Path):
    """The text tower's token embedding, where the manifest says it is: rows of the weights
    file (a tower the builder made), or a .npy file beside the tower (one torch exported)."""
    where = m.get("embed")
    if not where:
        return None
    if isinstance(where, dict):
        return TokenTable(where)
    return np.load(cache / where, mmap_mode="r")


def text_tower_of(m: dict, cache: Path, threads: int | None):
    """`tower(cached)`: the manifest's text tower compiled, at the first text query."""

    def tower(cached: bool = True):
        tokenizer = LightTokenizer(str(cache / m["tokenizer"]), m["context_length"], m["clean"],
                                   m["pad_id"], m["sep_id"], m.get("pad_left", False))
        return runtime.compile_text(cache / m["xml"], tokenizer, usable(m["precision"]),
                                    threads, token_table(m, cache), m["inputs"],
                                    cache / "compiled" if cached else None)

    return tower


def usable(precision: str) -> str:
    """The precision an export agreed in, on this CPU: bf16 only where it is native (an export
    made or published on another machine), else f32, which agrees at least as well."""
    return precision if precision != "bf16" or runtime.cpu_has_bf16() else "f32"


class LightEmbedder:
    """What a text search needs from an Embedder, from the exported text tower; any other
    attribute (encode_images, model, preprocess...) loads the full Embedder on first use."""

    def __init__(self, manifest: dict, tower, full_loader, cache: Path | None = None,
                 threads: int | None = None, rebuild=None):
        self._manifest, self._cache, self._threads = manifest, cache, threads
        self._rebuild = rebuild
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
        self._text_lock = threading.Lock()
        self.exported_again = False  # a tower fell back, and the towers are made afresh

    def runtime_key(self) -> str:
        """The towers' names in the runtime folder (see offered.runtime_key)."""
        return runtime_key(self.model_id)

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

    def rest(self) -> None:
        """Let the compiled image tower go (an idle app does not index; the next batch compiles
        it again, from OpenVINO's compiled-model cache): its weights are half the memory."""
        with self._full_lock:
            released, self._image = self._image is not None, None
        if released:
            import gc

            gc.collect()
            give_back_memory()

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
            tower = self._image  # (rest() may let it go meanwhile; this call keeps it)
        return tower(prepared(self, images))

    def _image_tower(self, cached: bool = True):
        return runtime.compile_tower(self._cache / self._manifest["image_xml"],
                                     usable(self._manifest["image_precision"]), self._threads,
                                     self._cache / "compiled" if cached else None)

    def _compiled(self, tower: str, make):
        """`make(cached)` compiled: with OpenVINO's compiled-model cache, else without it (a
        read-only home fails only the first). A search never fails for it. A tower whose files
        no longer read (damaged, changed by another program) loses them: towers the builder
        made are built again at once from the weights; others lose their manifest, so the
        full model answers and exports them again. A failure that is not the files' (out of
        memory, too many open files) leaves them as they are: the full model answers now."""
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
        said = "; ".join({one_line(first): None, one_line(second): None})  # each error once
        damaged = self._cache is not None and self._damaged(tower)
        if damaged and self._manifest.get("built") and self._rebuild and self._build_again():
            log.warning("the %s tower was damaged (%s): built again from the weights", tower,
                        said)
            return (self._make_tower if tower == "text" else self._image_tower)(True)
        log.warning("the %s tower %s (%s): the full model answers%s", tower,
                    "is damaged" if damaged else "could not be compiled", said,
                    ", and the towers are made again" if damaged else "")
        if damaged:
            try:
                self._forget(tower)
                self.exported_again = True  # by the full model, as it loads
            except OSError:  # a read-only home: the full model answers for this session
                pass
        # what this object said of its runtime is the full model's from now on
        self.__dict__.pop("text_precision" if tower == "text" else "image_runtime", None)
        method = "encode_text" if tower == "text" else "encode_images"
        return lambda inputs: getattr(self.full(), method)(list(inputs))

    def _forget(self, tower: str) -> None:
        """The damaged tower's files and the manifest go, so that nothing trusts them again."""
        xml = self._cache / self._manifest["xml" if tower == "text" else "image_xml"]
        for f in (xml.with_suffix(".bin"), xml):
            f.unlink(missing_ok=True)
        manifest_path(self._cache, self.spec).unlink(missing_ok=True)

    def _build_again(self) -> bool:
        """Both towers built afresh from the weights the manifest names; this object's
        manifest is the new one. False where that fails (the full model answers then)."""
        try:
            self._forget("text")
            self._forget("image")
            path = self._rebuild(self.spec, Path(self._manifest["weights"]).parent, self._cache,
                                 self._threads)
            self._manifest = json.loads(path.read_text(encoding="utf-8"))
            self._make_tower = text_tower_of(self._manifest, self._cache, self._threads)
        except Exception as exc:  # noqa: BLE001 - the full model answers
            log.warning("the towers could not be built again (%s)", one_line(exc))
            return False
        return True

    def _damaged(self, tower: str) -> bool:
        """Whether the tower's files no longer read (its network, and the text tower's
        tokenizer and token table). Running out of memory or of open files is not damage."""
        m, cache = self._manifest, self._cache
        try:
            openvino().Core().read_model(str(cache / m["xml" if tower == "text" else "image_xml"]))
            if tower == "text":
                import tokenizers

                tokenizers.Tokenizer.from_file(str(cache / m["tokenizer"]))
                table = token_table(m, cache)
                if table is not None:
                    table[np.zeros(1, np.int64)]  # its first row reads
        except (MemoryError, ResourceWarning):
            return False
        except OSError as exc:
            return exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOMEM)
        except Exception as exc:  # noqa: BLE001 - the files do not read: damage,
            text = str(exc).lower()  # unless the runtime says it ran out of something
            return not any(w in text for w in ("too many open files", "out of memory",
                                               "cannot allocate memory", "bad_alloc"))
        return False

    def encode_text(self, texts: list[str], truncate: bool = True) -> np.ndarray:
        known = self._text_cache.get(texts[0]) if len(texts) == 1 else None
        if known is not None:
            return known[None, :]
        with self._full_lock:
            if self._tower is None:
                self._tower = self._compiled("text", self._make_tower)
                give_back_memory()  # what compiling it took and no longer needs
        with self._text_lock:  # the tower runs one call at a time anyway
            # the same text asked meanwhile (the window's warm-up of what is typed) answered
            known = self._text_cache.get(texts[0]) if len(texts) == 1 else None
            if known is not None:
                return known[None, :]
            out = self._tower(list(texts))
            if len(texts) == 1:
                self._text_cache.put(texts[0], out[0])
        return out


# -- the image tower without torch: an image query ------------------------------------------------
PIL_FILTERS = {"nearest": 0, "bilinear": 2, "bicubic": 3, "lanczos": 1, "box": 4, "hamming": 5}


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


def write_manifest(path: Path, manifest: dict) -> None:
    """Whole or not at all: a manifest names files a later start trusts without tracing."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
