"""A model's files: its weights and tokenizer, from a folder or the Hugging Face hub's cache,
downloaded once when allowed; and what is said when they cannot be had."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from core.model.offered import HF_HUB, LOCAL_DIR, ModelSpec
from core.types import ModelUnavailable

log = logging.getLogger(__name__)
WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# what a Hugging Face tokenizer (SigLIP 2's Gemma, XLM-R ...) reads from its folder
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "vocab.txt",
                   "vocab.json", "merges.txt", "added_tokens.json")


def open_clip_model(parsed: ModelSpec, allow_download: bool, on_status=None):
    """(model, preprocess, tokenizer, weights file) of a spec, in one clear line when it fails."""
    try:
        if parsed.kind == "local-dir":
            model, preprocess, weights = _load_local_dir(parsed.text)
        else:
            model, preprocess, weights = _load_hub(parsed, allow_download, on_status)
        return model, preprocess, tokenizer(parsed, allow_download, on_status), weights
    except ModelUnavailable:
        raise
    except Exception as exc:  # open_clip raises many kinds; the user needs one clear line
        raise ModelUnavailable(_explain(parsed, exc)) from exc


_offline_lock = threading.Lock()
_offline_holders = 0
_online_before: bool | None = None


@contextlib.contextmanager
def hub_offline():
    """Make huggingface_hub answer from its cache only, without a network round trip.

    Its offline switch is one for the whole process, and two loads may overlap (the library's
    and a model switch's): the first in turns it on, the last out puts back what it found, so
    that one leaving never turns it off under the other, nor leaves it on for good."""
    global _offline_holders, _online_before
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - open_clip depends on it
        yield
        return
    with _offline_lock:
        if _offline_holders == 0:
            _online_before = constants.HF_HUB_OFFLINE
            constants.HF_HUB_OFFLINE = True
        _offline_holders += 1
    try:
        yield
    finally:
        with _offline_lock:
            _offline_holders -= 1
            if _offline_holders == 0:
                constants.HF_HUB_OFFLINE = _online_before


@contextlib.contextmanager
def _quiet_logs():
    """open_clip and the hub log every failed cache lookup; the caller reports one clear line."""
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _hub_address() -> tuple[str, int]:
    """The hub's host and port, as huggingface_hub reaches it (HF_ENDPOINT for a mirror)."""
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        url = urlparse(constants.ENDPOINT)
    except ImportError:  # pragma: no cover
        url = urlparse("https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def _hub_host() -> str:
    return _hub_address()[0]


def _unreachable(timeout: float = 5.0) -> str | None:
    """Why the hub can't be reached, or None: one quick connect instead of minutes of retries."""
    import socket

    try:
        socket.create_connection(_hub_address(), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


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
            with hub_offline(), _quiet_logs():
                cfg = _get_hf_config(parsed.text[len(HF_HUB):]).get("model_cfg", {})
        except Exception:  # not cached: the tokenizer open_clip would pick by name
            cfg = {}
    else:
        cfg = open_clip.get_model_config(parsed.text.split(":")[0]) or {}
    return dict(cfg.get("text_cfg") or {})


def tokenizer(parsed: ModelSpec, allow_download: bool, on_status=None):
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
        folder = _hub_tokenizer_folder(parsed, repo, allow_download, on_status)
    try:
        import transformers  # noqa: F401  (HFTokenizer's own import, failing more clearly)
    except ImportError as exc:
        raise ModelUnavailable(
            f"Model {parsed.text} needs the 'transformers' package for its tokenizer "
            "(pip install transformers).") from exc
    return HFTokenizer(str(folder), context_length=text_cfg.get("context_length", 77),
                       tokenizer_mode=text_cfg.get("tokenizer_mode"),
                       **text_cfg.get("tokenizer_kwargs", {}))


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
        reason = _unreachable()
        if reason:
            raise ModelUnavailable(
                f"Could not download the tokenizer of model {parsed.text} ({repo}) from "
                f"{host} ({reason}). Connect to the internet once, or use a model folder: "
                "--model local-dir:/path/to/folder.") from exc
        if on_status:
            on_status(f"Downloading the tokenizer of model {parsed.text} (first use only)…")
        return Path(snapshot_download(repo, allow_patterns=patterns))


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
        with hub_offline(), _quiet_logs():
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
        reason = _unreachable()
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
    with hub_offline():
        return model, preprocess, weights_file()


def _explain(parsed: ModelSpec, exc: Exception) -> str:
    if parsed.kind == "local-dir":
        return f"Could not load model {parsed.text}: {exc}"
    return (
        f"Could not get the weights of model {parsed.text} ({type(exc).__name__}: "
        f"{str(exc).splitlines()[0][:200] if str(exc) else 'no details'}). Connect to the "
        "internet once so they can be downloaded, or use a model folder: --model "
        "local-dir:/path/to/folder, or Settings in the app."
    )
