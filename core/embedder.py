"""open_clip models by spec: loading, device and threads, batched image and fast text encoding."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .imaging import head_tail_hash
from .lighttext import prepared
from .models import DEFAULT_MODEL  # chosen by a rule over the table of offered models
from .types import ModelUnavailable

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL", "Embedder", "ModelSpec"]
LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"
WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# what a Hugging Face tokenizer (SigLIP 2's Gemma, XLM-R ...) reads from its folder
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "vocab.txt",
                   "vocab.json", "merges.txt", "added_tokens.json")


@dataclass(frozen=True)
class ModelSpec:
    """A model in open_clip's own spellings: NAME:TAG, hf-hub:org/repo or local-dir:PATH."""

    text: str

    @property
    def kind(self) -> str:
        if self.text.startswith(LOCAL_DIR):
            return "local-dir"
        if self.text.startswith(HF_HUB):
            return "hf-hub"
        return "pretrained"

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        text = text.strip()
        if text.startswith(LOCAL_DIR):
            folder = Path(text[len(LOCAL_DIR):]).expanduser()
            return cls(LOCAL_DIR + str(folder.resolve()))
        if text.startswith(HF_HUB):
            return cls(text)
        if ":" not in text:
            raise ModelUnavailable(
                f"Model '{text}' has no pretrained tag. Use NAME:TAG (for example "
                f"{DEFAULT_MODEL}), hf-hub:org/repo or local-dir:/path/to/folder."
            )
        return cls(text)


def _text_config(parsed: ModelSpec) -> dict:
    """The text tower's settings: from the model folder, the hub cache or open_clip's own."""
    import json

    import open_clip

    if parsed.kind == "local-dir":
        path = Path(parsed.text[len(LOCAL_DIR):]) / "open_clip_config.json"
        try:
            cfg = json.loads(path.read_text(encoding="utf-8")).get("model_cfg", {})
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"Could not read {path}: {exc}") from exc
    elif parsed.kind == "hf-hub":
        from open_clip.factory import _get_hf_config

        try:
            with _hub_offline(), _quiet_logs():
                cfg = _get_hf_config(parsed.text[len(HF_HUB):]).get("model_cfg", {})
        except Exception:  # not cached: the tokenizer open_clip would pick by name
            cfg = {}
    else:
        cfg = open_clip.get_model_config(parsed.text.split(":")[0]) or {}
    return dict(cfg.get("text_cfg") or {})


def file_fingerprint(path: str | os.PathLike) -> str:
    """Cheap identity of a weights file: its size and its first and last megabyte."""
    return head_tail_hash(path, 1 << 20, digest_size=8)


@contextlib.contextmanager
def _hub_offline(offline: bool = True):
    """Make huggingface_hub answer from its cache only, without a network round trip."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - open_clip depends on it
        yield
        return
    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = offline or old
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old


@contextlib.contextmanager
def _quiet_logs():
    """open_clip and the hub log every failed cache lookup; the caller reports one clear line."""
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _hub_host() -> str:
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        return urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    except ImportError:  # pragma: no cover
        return "huggingface.co"


def _unreachable(host: str, timeout: float = 5.0) -> str | None:
    """Why the hub can't be reached, or None: one quick connect instead of minutes of retries."""
    import socket

    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


def pick_device(preference: str = "auto") -> str:
    import torch

    if preference and preference != "auto":
        return preference
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


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
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        with torch.inference_mode():
            probe = tokenizer(["a"]).to(device)
            self.dim = int(model.encode_text(probe).shape[-1])
        self.model_id = f"{spec}#{fingerprint}#{self.dim}"
        size = getattr(model.visual, "image_size", 224)
        self.image_size = int(min(size) if isinstance(size, (tuple, list)) else size)
        self.runtime_cache = Path(runtime_cache) if runtime_cache else None
        self.weights_path = str(weights) if weights else None
        if self.runtime_cache is not None and self.weights_path and self._wants_fast_runtime():
            from .lighttext import export_light  # before the text tower turns bf16: fp32 in

            export_light(self, threads)
        self.text_precision = "fp32"
        if text_precision == "bf16" or (text_precision == "auto" and device == "cpu"
                                         and cpu_has_native_bf16()):
            self.text_precision = _text_tower_to_bf16(self.model, tokenizer, device)
        # convolutional image towers (MobileCLIP's FastViT, ResNets) run faster with
        # channels-last tensors, oneDNN's preferred layout; the vectors are the same (tested)
        self.channels_last = is_convnet(model.visual) if channels_last is None else channels_last
        if self.channels_last:
            model.visual.to(memory_format=torch.channels_last)
        # the image tower on a faster runtime (core/runtime.py), set up at the first batch
        self._threads = threads
        self._fast_image = None
        self._fast_checked = not self._wants_fast_runtime()
        self.image_runtime = "torch fp32"

    # -- the faster image runtime ---------------------------------------------
    def _wants_fast_runtime(self) -> bool:
        if os.environ.get(RUNTIME_ENV, "auto").strip().lower() == "torch":
            return False
        return self.device == "cpu" and getattr(self, "runtime_cache", None) is not None

    def runtime_key(self) -> str:
        """The exported tower's name in the cache: one per model id (spec, weights, dim)."""
        import hashlib

        return hashlib.blake2b(self.model_id.encode(), digest_size=10).hexdigest()

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
        from .runtime import fast_image_tower

        tower = fast_image_tower(self.model.visual, self.image_size, self.runtime_cache,
                                 self.runtime_key(), self._torch_visual, self.probe_batch(),
                                 self._threads)
        if tower is not None:
            self._fast_image = tower
            self.image_runtime = f"openvino {tower.precision}"
            from .lighttext import add_image_tower  # image queries without torch, too

            add_image_tower(self, self.runtime_cache / f"{self.runtime_key()}-{self.image_size}"
                            ".xml", tower.precision)
        return tower

    # -- loading -------------------------------------------------------------
    @classmethod
    def load(
        cls, spec: str, device: str = "auto", threads: int | None = None,
        allow_download: bool = True, on_status=None, text_precision: str = "auto",
        channels_last: bool | None = None, runtime_cache: Path | None = None,
        light: bool = True,
    ) -> Embedder:
        """Load a model by spec; downloads only when allowed and not yet cached.

        With `runtime_cache` (a folder in the library home) and the CPU, the image tower runs
        on the faster runtime of core/runtime.py, exported there once per model, when it agrees
        with torch fp32; SNAPSEEK_RUNTIME=torch keeps torch."""
        if (runtime_cache is not None and light and device in ("auto", "cpu", None)
                and os.environ.get(RUNTIME_ENV, "auto").strip().lower() != "torch"):
            from .lighttext import open_light

            found = open_light(spec, Path(runtime_cache), threads, lambda: cls.load(
                spec, device, threads, allow_download, on_status, text_precision,
                channels_last, runtime_cache, light=False))
            if found is not None:
                return found
        try:
            import open_clip  # noqa: F401  (a broken install is told here, in one line)
            import torch
        except Exception as exc:  # a broken install must be a message, not a dead thread
            raise ModelUnavailable(f"torch / open_clip cannot be loaded: {exc}") from exc

        if threads:
            torch.set_num_threads(int(threads))
        parsed = ModelSpec.parse(spec)
        dev = pick_device(device)
        try:
            if parsed.kind == "local-dir":
                model, preprocess, weights = cls._load_local_dir(parsed.text)
            else:
                model, preprocess, weights = cls._load_hub(parsed, allow_download, on_status)
            tokenizer = cls._tokenizer(parsed, allow_download, on_status)
        except ModelUnavailable:
            raise
        except Exception as exc:  # open_clip raises many kinds; the user needs one clear line
            raise ModelUnavailable(cls._explain(parsed, exc)) from exc
        reparameterize(model)
        emb = cls(model, preprocess, tokenizer, parsed.text, file_fingerprint(weights), dev,
                  text_precision, channels_last, runtime_cache, threads, weights)
        return emb

    @classmethod
    def _tokenizer(cls, parsed: ModelSpec, allow_download: bool, on_status=None):
        """The model's tokenizer. A Hugging Face one is read from files on this computer only:
        the model's own folder, or the hub cache where it was downloaded with the weights."""
        import open_clip

        name = parsed.text if parsed.kind != "pretrained" else parsed.text.split(":")[0]
        text_cfg = _text_config(parsed)
        repo = text_cfg.get("hf_tokenizer_name")
        if not repo:
            return open_clip.get_tokenizer(name)
        try:
            from open_clip.tokenizer import HFTokenizer
        except ImportError as exc:  # pragma: no cover - open_clip ships it
            raise ModelUnavailable(f"open_clip cannot load tokenizers: {exc}") from exc
        if parsed.kind == "local-dir":
            folder = Path(parsed.text[len(LOCAL_DIR):])
            if not any((folder / n).is_file() for n in TOKENIZER_FILES):
                raise ModelUnavailable(
                    f"Model folder {folder} needs its tokenizer files (tokenizer.json and "
                    f"tokenizer_config.json, from {repo} on the hub) beside the weights.")
        else:
            folder = cls._hub_tokenizer_folder(parsed, repo, allow_download, on_status)
        try:
            import transformers  # noqa: F401  (HFTokenizer's own import, failing more clearly)
        except ImportError as exc:
            raise ModelUnavailable(
                f"Model {parsed.text} needs the 'transformers' package for its tokenizer "
                "(pip install transformers).") from exc
        return HFTokenizer(str(folder), context_length=text_cfg.get("context_length", 77),
                           tokenizer_mode=text_cfg.get("tokenizer_mode"),
                           **text_cfg.get("tokenizer_kwargs", {}))

    @staticmethod
    def _hub_tokenizer_folder(parsed: ModelSpec, repo: str, allow_download: bool, on_status):
        """The hub cache folder holding a tokenizer's files; downloads them once if allowed."""
        from huggingface_hub import snapshot_download

        patterns = list(TOKENIZER_FILES)
        try:
            with _quiet_logs():
                folder = Path(snapshot_download(repo, allow_patterns=patterns,
                                                local_files_only=True))
            # the weights may share the repo: its snapshot can exist without the tokenizer
            if not any((folder / n).is_file() for n in TOKENIZER_FILES):
                raise FileNotFoundError(f"no tokenizer files in {folder}")
            return folder
        except Exception as exc:
            if not allow_download:
                raise ModelUnavailable(
                    f"The tokenizer of model {parsed.text} ({repo}) is not on this computer and "
                    "downloads are off. Download the model from Settings, or pass --model "
                    "local-dir:PATH.") from exc
            host = _hub_host()
            reason = _unreachable(host)
            if reason:
                raise ModelUnavailable(
                    f"Could not download the tokenizer of model {parsed.text} ({repo}) from "
                    f"{host} ({reason}). Connect to the internet once, or use a model folder: "
                    "--model local-dir:/path/to/folder.") from exc
            if on_status:
                on_status(f"Downloading the tokenizer of model {parsed.text} (first use only)…")
            return Path(snapshot_download(repo, allow_patterns=patterns))

    @staticmethod
    def _load_local_dir(spec: str):
        import open_clip

        folder = Path(spec[len(LOCAL_DIR):])
        weights = next((folder / n for n in WEIGHT_NAMES if (folder / n).is_file()), None)
        if not (folder / "open_clip_config.json").is_file() or weights is None:
            raise ModelUnavailable(
                f"Model folder {folder} needs open_clip_config.json and one of "
                f"{', '.join(WEIGHT_NAMES)}."
            )
        model, _, preprocess = open_clip.create_model_and_transforms(spec, weights_only=True)
        return model, preprocess, weights

    @staticmethod
    def _load_hub(parsed: ModelSpec, allow_download: bool, on_status=None):
        import open_clip
        from open_clip.pretrained import download_pretrained, download_pretrained_from_hf

        def create():
            if parsed.kind == "hf-hub":
                return open_clip.create_model_and_transforms(parsed.text, weights_only=True)
            name, tag = parsed.text.split(":", 1)
            if not open_clip.get_pretrained_cfg(name, tag):
                raise ModelUnavailable(
                    f"open_clip knows no model '{name}' with weights '{tag}'. "
                    "See `python -m open_clip.pretrained` or open_clip's docs for names."
                )
            return open_clip.create_model_and_transforms(name, pretrained=tag, weights_only=True)

        def weights_file():
            if parsed.kind == "hf-hub":
                return download_pretrained_from_hf(parsed.text[len(HF_HUB):])
            name, tag = parsed.text.split(":", 1)
            return download_pretrained(open_clip.get_pretrained_cfg(name, tag))

        try:
            with _hub_offline(), _quiet_logs():
                model, _, preprocess = create()
        except ModelUnavailable:
            raise
        except Exception as exc:
            if not allow_download:
                raise ModelUnavailable(
                    f"The weights of model {parsed.text} are not on this computer and downloads "
                    "are off. Download them from Settings, or pass --model local-dir:PATH."
                ) from exc
            host = _hub_host()
            reason = _unreachable(host)
            if reason:
                raise ModelUnavailable(
                    f"Could not download the weights of model {parsed.text} from {host} "
                    f"({reason}). Connect to the internet once so they can be downloaded, or "
                    "use a model folder: --model local-dir:/path/to/folder, or Settings in the app.") from exc
            message = f"Downloading model {parsed.text} from {host} (first use only)…"
            log.warning(message)
            if on_status:
                on_status(message)
            model, _, preprocess = create()
        with _hub_offline():
            return model, preprocess, weights_file()

    @staticmethod
    def _explain(parsed: ModelSpec, exc: Exception) -> str:
        if parsed.kind == "local-dir":
            return f"Could not load model {parsed.text}: {exc}"
        return (
            f"Could not get the weights of model {parsed.text} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else 'no details'}). Connect to the "
            "internet once so they can be downloaded, or use a model folder: --model "
            "local-dir:/path/to/folder, or Settings in the app."
        )

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
        if len(texts) == 1 and truncate and texts[0] in self._text_cache:
            self._text_cache.move_to_end(texts[0])
            return self._text_cache[texts[0]][None, :]
        torch = self._torch
        tokens = self.tokenizer(texts).to(self.device)
        with self._lock, torch.inference_mode():
            if truncate and _supports_truncation(self.model):
                feats = _encode_text_truncated(self.model, tokens)
            else:
                feats = self.model.encode_text(tokens)
            feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        out = feats.cpu().numpy().astype(np.float32, copy=False)
        if len(texts) == 1 and truncate:
            self._text_cache[texts[0]] = out[0]
            if len(self._text_cache) > 256:
                self._text_cache.popitem(last=False)
        return out


RUNTIME_ENV = "SNAPSEEK_RUNTIME"  # "torch": never the faster image runtime
PROBE_IMAGES = 4
BF16_MIN_COSINE = 0.995
PROBE_TEXTS = ["a photo of a dog", "our family at the beach last summer", "receipt",
               "snow on the mountains at sunset, seen from a small wooden cabin window"]


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matmuls run at full speed (elsewhere they are emulated)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _text_tower_to_bf16(model, tokenizer, device: str) -> str:
    """Run the text tower in bf16 when it agrees with fp32 (cosine ≥ 0.995 on probe texts).

    A one-token query is bound by reading the weights, so halving their size halves its time.
    Image vectors, the ones stored, stay fp32. Returns the precision in use.
    """
    import torch

    tower = getattr(model, "text", None)  # CustomTextCLIP (MobileCLIP, ...) keeps it apart
    truncated = _supports_truncation(model)
    if tower is None and not truncated:
        return "fp32"

    def encode(tokens):
        out = _encode_text_truncated(model, tokens) if truncated else model.encode_text(tokens)
        return torch.nn.functional.normalize(out.float(), dim=-1)

    if tower is not None:
        modules = [tower]
    else:
        modules = [model.token_embedding, model.transformer, model.ln_final]
        if isinstance(model.text_projection, torch.nn.Linear):
            modules.append(model.text_projection)
    # references to the fp32 tensors, so a refusal restores them exactly rather than rounded
    saved = [dict(m.state_dict()) for m in modules]
    loose = {} if tower is not None else {
        "positional_embedding": model.positional_embedding.data, "attn_mask": model.attn_mask,
        "text_projection": None if isinstance(model.text_projection, torch.nn.Linear)
        or model.text_projection is None else model.text_projection.data}

    def cast_loose(values):
        model.positional_embedding.data = values["positional_embedding"]
        model.attn_mask = values["attn_mask"]
        if values["text_projection"] is not None:
            model.text_projection.data = values["text_projection"]

    with torch.inference_mode():
        tokens = tokenizer(PROBE_TEXTS).to(device)
        reference = encode(tokens)
        for m in modules:
            m.to(torch.bfloat16)
        if loose:
            cast_loose({k: None if v is None else v.to(torch.bfloat16) for k, v in loose.items()})
        cosine = float((reference * encode(tokens)).sum(-1).min())
        if cosine >= BF16_MIN_COSINE:
            return "bf16"
        for m, state in zip(modules, saved, strict=True):  # keep exactness where bf16 disagrees
            m.to(torch.float32)
            m.load_state_dict(state)
        if loose:
            cast_loose(loose)
    log.info("bf16 text tower disagrees with fp32 (cosine %.4f): staying fp32", cosine)
    return "fp32"


def is_convnet(visual) -> bool:
    """Many convolutions (MobileCLIP, ResNets), not a ViT's single patch embedding."""
    import torch

    return sum(isinstance(m, torch.nn.Conv2d) for m in visual.modules()) >= 10


def reparameterize(model) -> None:
    """Fuse MobileCLIP's train-time branches (timm); several times faster at inference."""
    try:
        from timm.utils.model import reparameterize_model
    except ImportError:
        return
    if any(hasattr(m, "reparameterize") for m in model.modules()):
        reparameterize_model(model, inplace=True)


def _supports_truncation(model) -> bool:
    return (
        hasattr(model, "token_embedding")
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", "argmax") in ("argmax", "eos")
    )


def _encode_text_truncated(model, tokens):
    """CLIP's text tower run only up to the last real token.

    Exact: with the causal mask, position i never attends past i, so the padding after the
    pooled token cannot change it.
    """
    import torch
    from open_clip.transformer import text_global_pool

    if model.text_pool_type == "eos":
        pooled_at = (tokens == model.text_eos_id).int().argmax(dim=-1)
    else:
        pooled_at = tokens.argmax(dim=-1)
    n = int(pooled_at.max().item()) + 1
    tokens = tokens[:, :n]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:n].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:n, :n])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type,
                         eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        if isinstance(model.text_projection, torch.nn.Linear):
            x = model.text_projection(x)
        else:
            x = x @ model.text_projection
    return x
