"""open_clip models by spec: loading, device and threads, batched image and fast text encoding."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from core.model.exported import prepared
from core.model.offered import DEFAULT_MODEL, ModelSpec, file_fingerprint, model_id, runtime_key
from core.model.sources import open_clip_model
from core.model.textcache import TextCache
from core.model.torchtowers import (
    encode_text_truncated,
    is_convnet,
    pick_device,
    reparameterize,
    supports_truncation,
    text_tower_to_bf16,
)
from core.osutil import native_bf16
from core.types import ModelUnavailable, SnapseekError

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL", "Embedder", "ModelSpec"]
RUNTIME_ENV = "SNAPSEEK_RUNTIME"  # "torch": never the faster image runtime
PROBE_IMAGES = 4


class Embedder:
    """One loaded model. Thread-safe: calls into the model are serialised."""

    MAX_BATCH = 32  # images per model call

    def __init__(self, model, preprocess, tokenizer, spec: str, fingerprint: str, device: str,
                 text_precision: str = "auto", channels_last: bool | None = None,
                 runtime_cache: Path | None = None, threads: int | None = None,
                 weights: str | os.PathLike | None = None):
        import torch

        self._torch = torch
        self.model = model.eval().to(device)
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.spec = spec
        self.device = device
        self._lock = threading.Lock()
        self._text_cache = TextCache()
        with torch.inference_mode():
            probe = tokenizer(["a"]).to(device)
            self.dim = int(model.encode_text(probe).shape[-1])
        self.model_id = model_id(spec, fingerprint, self.dim)
        size = getattr(model.visual, "image_size", 224)
        self.image_size = int(min(size) if isinstance(size, (tuple, list)) else size)
        self.runtime_cache = Path(runtime_cache) if runtime_cache else None
        self.weights_path = str(weights) if weights else None
        if self.runtime_cache is not None and self.weights_path and self._wants_fast_runtime():
            from core.model.torchexport import export_light  # before the text tower turns bf16: fp32 in

            export_light(self, threads)
        self.text_precision = "fp32"
        if text_precision == "bf16" or (text_precision == "auto" and device == "cpu"
                                         and native_bf16()):
            self.text_precision = text_tower_to_bf16(self.model, tokenizer, device)
        # convolutional image towers (MobileCLIP's FastViT, ResNets) run faster with
        # channels-last tensors, oneDNN's preferred layout; the vectors are the same (tested)
        self.channels_last = is_convnet(model.visual) if channels_last is None else channels_last
        if self.channels_last:
            model.visual.to(memory_format=torch.channels_last)
        # the image tower on a faster runtime (core/model/runtime.py), set up at the first batch
        self._threads = threads
        self._fast_image = None
        self._fast_checked = not self._wants_fast_runtime()
        self.image_runtime = "torch fp32"
        if self.runtime_cache is not None and self.weights_path and not self._fast_checked:
            # both towers exported at the first load, whatever it was for: a text search too
            # leaves a home whose next search of either kind needs no torch
            with self._lock:
                self._fast_tower()

    # -- the faster image runtime ---------------------------------------------
    def _wants_fast_runtime(self) -> bool:
        if os.environ.get(RUNTIME_ENV, "auto").strip().lower() == "torch":
            return False
        return self.device == "cpu" and getattr(self, "runtime_cache", None) is not None

    def runtime_key(self) -> str:
        """The exported tower's name in the cache: one per model id (spec, weights, dim)."""
        return runtime_key(self.model_id)

    def probe_batch(self) -> np.ndarray:
        """A few synthetic pictures, preprocessed as photos are: the runtime's agreement test."""
        from PIL import Image, ImageDraw

        rng = np.random.default_rng(7)
        out = []
        for i in range(PROBE_IMAGES):
            w, h = 320 + 40 * i, 240 + 30 * i
            grad = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
            base = np.clip(grad * rng.uniform(0.3, 1.0, 3) + rng.normal(0, 12, (h, w, 3)), 0,
                           255).astype(np.uint8)
            im = Image.fromarray(base)
            d = ImageDraw.Draw(im)
            for _ in range(3):
                x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
                d.ellipse((x, y, x + int(rng.integers(30, 120)), y + int(rng.integers(30, 120))),
                          fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
            out.append(self.preprocess(im).numpy())
        return np.stack(out).astype(np.float32)

    def _torch_visual(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        x = torch.from_numpy(np.ascontiguousarray(batch))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return self.model.encode_image(x).float().numpy()

    def _fast_tower(self):
        """The OpenVINO image tower, exported once per model into the cache; None: torch."""
        if self._fast_checked:
            return self._fast_image
        self._fast_checked = True
        from core.model.torchexport import fast_image_tower

        tower = fast_image_tower(self.model.visual, self.image_size, self.runtime_cache,
                                 self.runtime_key(), self._torch_visual, self.probe_batch(),
                                 self._threads)
        if tower is not None:
            self._fast_image = tower
            self.image_runtime = f"openvino {tower.precision}"
            from core.model.torchexport import add_image_tower  # image queries without torch, too

            add_image_tower(self, self.runtime_cache / f"{self.runtime_key()}-{self.image_size}"
                            ".xml", tower.precision)
        return tower

    # -- loading -------------------------------------------------------------
    @classmethod
    def load(
        cls, spec: str, device: str = "auto", threads: int | None = None,
        allow_download: bool = True, on_status=None, text_precision: str = "auto",
        channels_last: bool | None = None, runtime_cache: Path | None = None,
        light: bool = True, on_progress=None,
    ) -> Embedder:
        """Load a model by spec; downloads only when allowed and not yet cached.

        With `runtime_cache` (a folder in the library home) and the CPU, the model answers from
        its towers on OpenVINO (core/model/runtime.py), built there once from its weights file
        (core/model/builder.py), or exported from torch for a family the builder does not cover;
        SNAPSEEK_RUNTIME=torch keeps torch. A download reports `on_progress`."""
        if (runtime_cache is not None and light and device in ("auto", "cpu", None)
                and os.environ.get(RUNTIME_ENV, "auto").strip().lower() != "torch"):
            from core.model.light import open_or_build

            found = open_or_build(spec, Path(runtime_cache), threads, lambda: cls.load(
                spec, device, threads, allow_download, on_status, text_precision,
                channels_last, runtime_cache, light=False), allow_download, on_progress,
                on_status)
            if found is not None:
                return found
        try:
            import open_clip  # noqa: F401  (a broken install is told here, in one line)
            import torch
        except ModuleNotFoundError as exc:  # the slim app, or an install without torch
            raise ModelUnavailable(
                f"Model {ModelSpec.parse(spec).text} needs the full installation: its towers "
                f"are made by torch and open_clip, which this installation does not have "
                f"({exc.name} is missing).") from exc
        except Exception as exc:  # a broken install must be a message, not a dead thread
            raise ModelUnavailable(f"torch / open_clip cannot be loaded: {exc}") from exc

        if threads:
            torch.set_num_threads(int(threads))
        parsed = ModelSpec.parse(spec)
        dev = pick_device(device)
        model, preprocess, tokenizer, weights = open_clip_model(parsed, allow_download, on_status)
        reparameterize(model)
        emb = cls(model, preprocess, tokenizer, parsed.text, file_fingerprint(weights), dev,
                  text_precision, channels_last, runtime_cache, threads, weights)
        return emb

    # -- encoding ------------------------------------------------------------
    def prepare(self, image) -> np.ndarray:
        """A PIL image as the image tower takes it (CHW float32). Thread-safe: the indexing
        pipeline's decode threads prepare each picture beside its decode, where one thread
        preparing every batch had been the limit on a many-core machine (benchmarks.gpu)."""
        return self.preprocess(image).numpy()

    def encode_images(self, images) -> np.ndarray:
        """Normalised float32 vectors for a list of PIL images (or arrays from `prepare`), one
        model call per batch."""
        torch = self._torch
        if not images:
            return np.empty((0, self.dim), np.float32)
        out = []
        with self._lock:
            fast = self._fast_tower()
        if fast is not None:
            for start in range(0, len(images), self.MAX_BATCH):
                out.append(fast(prepared(self, images[start:start + self.MAX_BATCH])))
            return np.concatenate(out) if len(out) > 1 else out[0]
        # a batch of videos brings many moments: bound the memory one model call may take
        for start in range(0, len(images), self.MAX_BATCH):
            batch = torch.from_numpy(prepared(self, images[start:start + self.MAX_BATCH])
                                     ).to(self.device)
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            with self._lock, torch.inference_mode():
                feats = self.model.encode_image(batch)
                feats = torch.nn.functional.normalize(feats.float(), dim=-1)
            out.append(feats.cpu().numpy().astype(np.float32, copy=False))
        return np.concatenate(out) if len(out) > 1 else out[0]

    def encode_text(self, texts: list[str], truncate: bool = True) -> np.ndarray:
        """Normalised float32 vectors for texts; recent single queries come from a cache."""
        known = self._text_cache.get(texts[0]) if len(texts) == 1 and truncate else None
        if known is not None:
            return known[None, :]
        torch = self._torch
        tokens = self.tokenizer(texts).to(self.device)
        with self._lock, torch.inference_mode():
            if truncate and supports_truncation(self.model):
                feats = encode_text_truncated(self.model, tokens)
            else:
                feats = self.model.encode_text(tokens)
            feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        out = feats.cpu().numpy().astype(np.float32, copy=False)
        if len(texts) == 1 and truncate:
            self._text_cache.put(texts[0], out[0])
        return out


def check_device(device: str | None) -> None:
    """Refuse a device this machine does not have, in words (torch would raise deep inside)."""
    kind, _, number = (device or "auto").partition(":")
    if kind in ("auto", "cpu"):
        return
    import torch

    if kind == "cuda":
        if not torch.cuda.is_available():
            raise SnapseekError(f"The device {device} is not available: no CUDA GPU was found "
                                "(use auto or cpu).")
        if number and (not number.isdigit() or int(number) >= torch.cuda.device_count()):
            raise SnapseekError(f"The device {device} is not available: this machine has "
                                f"{torch.cuda.device_count()} CUDA GPU(s), cuda:0 to "
                                f"cuda:{torch.cuda.device_count() - 1}.")
    elif kind == "mps" and not number:
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SnapseekError(f"The device {device} is not available: no Apple GPU (MPS) was "
                                "found (use auto or cpu).")
    else:
        raise SnapseekError(f"Unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps.")
