"""A model made ready without torch: its towers opened from the library's runtime folder, or
built from its files (core/model/builder.py), which are a `local-dir:` folder or downloaded once
from the hub into Snapseek's cache (core/model/download.py). A family the builder does not cover
is left to torch's export where torch is installed, and said in one line where it is not."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from core.model import download
from core.model.family import NotCovered
from core.model.offered import HF_HUB, LOCAL_DIR, ModelSpec, offered
from core.types import ModelUnavailable

log = logging.getLogger(__name__)


def hub_repo(spec: ModelSpec) -> str | None:
    """The hub repository holding a model's published files, where Snapseek knows it."""
    if spec.kind == "hf-hub":
        return spec.text[len(HF_HUB):].strip("/")
    entry = offered(spec.text)
    if entry is not None:
        return entry.hub_repo
    try:  # open_clip's own table, where it is installed (the full installation)
        import open_clip

        name, tag = spec.text.split(":", 1)
        repo = (open_clip.get_pretrained_cfg(name, tag) or {}).get("hf_hub")
    except Exception:  # noqa: BLE001 - not installed, or no such model: torch's way
        return None
    return repo.strip("/") if repo else None


def model_folder(spec: ModelSpec, allow_download: bool, on_progress: Callable | None = None,
                 on_status: Callable[[str], None] | None = None) -> Path | None:
    """The folder of a model's files on this computer, downloaded first where allowed; None
    where Snapseek does not know where they are published (torch's loader is asked then)."""
    if spec.kind == "local-dir":
        return Path(spec.text[len(LOCAL_DIR):])
    repo = hub_repo(spec)
    if repo is None:
        return None
    folder = download.repo_folder(repo)
    have = all((folder / n).is_file() for n in download.WEIGHTS)
    if have:
        download.check(folder, spec.text)
    elif not allow_download:
        raise ModelUnavailable(f"The weights of model {spec.text} are not on this computer and "
                               "downloads are off. Download them from Settings, or pass "
                               "--model local-dir:PATH.")
    if on_status and not have:
        on_status(f"Downloading model {spec.text} from {download.endpoint()} (first use only)…")
    meter = download.Meter(spec.text, on_progress)
    download.fetch(repo, download.WEIGHTS[:1], folder, spec.text, meter)
    config = json.loads((folder / download.WEIGHTS[0]).read_text(encoding="utf-8"))
    text_cfg = (config.get("model_cfg") or {}).get("text_cfg") or {}
    tokenizer_repo = (text_cfg.get("hf_tokenizer_name") or "").strip("/")
    if tokenizer_repo and tokenizer_repo != repo:  # its tokenizer is published apart
        download.fetch(tokenizer_repo, download.TOKENIZER[:1], folder, spec.text, meter,
                       optional=download.TOKENIZER[1:])
    tokens = download.TOKENIZER if tokenizer_repo == repo else ()
    download.fetch(repo, download.WEIGHTS[1:] + tokens[:1], folder, spec.text, meter,
                   optional=tokens[1:])
    return folder


def open_or_build(spec: str, cache: Path, threads: int | None, full_loader,
                  allow_download: bool = True, on_progress: Callable | None = None,
                  on_status: Callable[[str], None] | None = None):
    """A LightEmbedder for `spec`, its towers built first where they are not made yet; None
    where the builder does not cover the model (torch's export is the way left)."""
    from core.model.exported import open_light

    found = open_light(spec, cache, threads, full_loader, rebuild)
    if found is not None:
        return found
    parsed = ModelSpec.parse(spec)
    folder = model_folder(parsed, allow_download, on_progress, on_status)
    if folder is None:
        return None
    from core.model.builder import build

    if on_status:
        on_status(f"Building the towers of {parsed.text} from its weights…")
    try:
        build(parsed.text, folder, cache, threads)
    except NotCovered as exc:
        log.info("the towers of %s are not built from its weights (%s)", parsed.text, exc)
        if not torch_installed():
            raise ModelUnavailable(
                f"Model {parsed.text} needs the full installation (torch and open_clip): "
                f"this app builds its towers only for the families it covers, and {exc}."
            ) from exc
        return None
    return open_light(spec, cache, threads, full_loader, rebuild)


def rebuild(spec: str, folder: Path, cache: Path, threads: int | None) -> Path:
    """Towers the builder made, built again from the same weights (their files no longer
    read); the manifest's path."""
    from core.model.builder import build

    return build(spec, folder, cache, threads, check=False)


def torch_installed() -> bool:
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in ("torch", "open_clip"))
    except ValueError:  # a module put out of reach on purpose (sys.modules[name] = None)
        return False
