"""A model's files fetched from the Hugging Face hub as any hub client fetches them: from
`HF_ENDPOINT` (the hub's own variable, for mirrors; https://huggingface.co otherwise), never when
`HF_HUB_OFFLINE` is set, into Snapseek's cache folder (not ~/.cache/huggingface). Only the files
the tower builder needs: the weights, the config and the tokenizer's files.

Each file is resumed where a cut connection left off (HTTP Range), written as `.part` and renamed
into place only when whole, by one process at a time (a lock on the folder). The first download
records each file's size and sha256 with the repository's commit (`snapseek-files.json`); every
later open checks them, and a file changed since is said in one line, never used."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlparse

from core.files import atomic_path, commit_file, folder_lock
from core.types import ModelUnavailable, Progress, State

log = logging.getLogger(__name__)
CHUNK = 1 << 16
TIMEOUT_S = 30.0
CUTS_WITHOUT_PROGRESS = 3  # a connection cut again and again with nothing new: give up
PROGRESS_EVERY_S = 0.25
RETRY_S = 2.0  # the first wait before a try again; doubled each time
RECORD = "snapseek-files.json"
WEIGHTS = ("open_clip_config.json", "open_clip_model.safetensors")
TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def models_folder() -> Path:
    from core.thirdparty import cache_folder

    return Path(cache_folder()) / "models"


def repo_folder(repo: str) -> Path:
    return models_folder() / repo.replace("/", "--")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# -- what was downloaded, and whether it is still that -----------------------------------------
def _record(folder: Path) -> dict:
    try:
        return json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": {}}


def _write_record(folder: Path, record: dict) -> None:
    with atomic_path(folder / RECORD) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1), encoding="utf-8")


def changed(folder: Path, name: str, entry: dict) -> str | None:
    """Why a downloaded file is no longer the one recorded, or None. Its size and time are
    compared at every open; its sha256 where either moved (a file rewritten in place)."""
    try:
        st = (folder / name).stat()
    except FileNotFoundError:
        return "it is missing"
    if st.st_size != entry["size"]:
        return f"its size is {st.st_size:,} bytes, not {entry['size']:,}"
    if st.st_mtime_ns != entry.get("mtime_ns") and sha256_of(folder / name) != entry["sha256"]:
        return "its contents changed (sha256)"
    return None


def check(folder: Path, spec: str) -> None:
    """Every recorded file as it was downloaded, or ModelUnavailable in one line."""
    for name, entry in _record(folder).get("files", {}).items():
        why = changed(folder, name, entry)
        if why:
            raise ModelUnavailable(
                f"The file {name} of model {spec} changed since it was downloaded ({why}), so it"
                f" is not used: delete {folder} to download it again.")


# -- fetching ----------------------------------------------------------------------------------
class Meter:
    """Bytes done of all the files of one download (their sizes become known as each
    starts), the speed of this session and the time left."""

    def __init__(self, spec: str, on_progress: Callable | None):
        self.spec, self.on_progress = spec, on_progress
        self.total = self.done = self._session = 0
        self._sizes: dict[str, int] = {}
        self._start, self._last = time.monotonic(), 0.0

    def expect(self, name: str, size: int, have: int) -> None:
        """A file's size, once known (its first answer): counted once, with what an earlier
        try left of it counted as done."""
        if name not in self._sizes:
            self._sizes[name] = size
            self.total += size
            self.add(have, name, resumed=True)

    def add(self, n: int, name: str, resumed: bool = False) -> None:
        self.done += n
        if not resumed:
            self._session += n
        now = time.monotonic()
        if self.on_progress is not None and (now - self._last >= PROGRESS_EVERY_S
                                             or self.done >= self.total):
            self._last = now
            rate = self._session / max(now - self._start, 1e-6)
            eta = (self.total - self.done) / rate if rate > 0 else None
            self.on_progress(Progress(State.DOWNLOADING, done=self.done, total=self.total,
                                      rate=rate, eta_s=eta, current=name, model=self.spec))


def _url(repo: str, revision: str, name: str) -> str:
    return f"{endpoint()}/{repo}/resolve/{quote(revision, safe='')}/{quote(name)}"


def _host() -> str:
    return urlparse(endpoint()).hostname or endpoint()


def _unreachable_line(spec: str, why: str) -> str:
    return (f"Could not download model {spec} from {_host()} ({why}). Connect to the internet "
            "once, or use a model folder: --model local-dir:/path/to/folder.")


class _KeepHeaders(urllib.request.HTTPRedirectHandler):
    """Follows the hub's redirects (to its file storage) keeping the first answer's headers:
    the commit the name resolved to is said there."""

    def __init__(self):
        self.first = None

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if self.first is None:
            self.first = headers
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url: str, start: int, timeout: float):
    """(response, the first answer's headers)."""
    keep = _KeepHeaders()
    opener = urllib.request.build_opener(keep)
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    response = opener.open(request, timeout=timeout)
    return response, keep.first or response.headers


def fetch(repo: str, names: tuple[str, ...], folder: Path, spec: str,
          meter: Meter | None = None, optional: tuple[str, ...] = (),
          revision: str = "main", timeout: float = TIMEOUT_S) -> Path:
    """The files of `repo` in `folder`, downloaded where missing; `optional` ones may be
    absent from the repository; `meter` counts one download's bytes across calls. Raises
    ModelUnavailable with one line when it cannot."""
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder):  # one process at a time; the next finds the files there
        record = _record(folder)
        files = record.setdefault("files", {})
        want = [n for n in names + optional if n not in files or changed(folder, n, files[n])]
        if not want:
            return folder
        if offline():
            raise ModelUnavailable(f"Model {spec} is not on this computer and HF_HUB_OFFLINE "
                                   f"is set, so it is not downloaded ({repo}: "
                                   f"{', '.join(want)}).")
        meter = meter or Meter(spec, None)
        revision = record.get("commit") or revision
        for name in want:
            got = _fetch_file(repo, revision, name, folder, meter, spec, timeout,
                              name in optional)
            if got is None:
                continue
            revision = record["commit"] = got.pop("commit", None) or revision
            files[name] = got
            record["repo"] = repo
            _write_record(folder, record)
    return folder


def _fetch_file(repo: str, revision: str, name: str, folder: Path, meter: Meter, spec: str,
                timeout: float, optional: bool) -> dict | None:
    """One file into place; its record entry (size, sha256, mtime, commit), None for an
    optional file the repository does not have."""
    part = folder / f"{name}.part"
    have = part.stat().st_size if part.exists() else 0
    cuts, size, commit, why = 0, None, None, ""
    while True:
        before = have
        try:
            response, first = _open(_url(repo, revision, name), have, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and optional:
                return None
            if exc.code == 416 and have:  # asked beyond its end: start again
                part.unlink()
                have = 0
                continue
            if exc.code >= 500 and cuts + 1 < CUTS_WITHOUT_PROGRESS:  # the server's moment
                cuts += 1
                why = f"{exc.code} {exc.reason}"
                time.sleep(RETRY_S * 2 ** (cuts - 1))
                continue
            raise ModelUnavailable(f"Could not download model {spec}: {_host()} answered "
                                   f"{exc.code} ({exc.reason}) for {repo}/{name}.") from exc
        except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, reset: a cut
            reason = getattr(exc, "reason", exc)
            why = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
            if have == 0 and cuts == 0 and meter.done == 0:
                raise ModelUnavailable(_unreachable_line(spec, why)) from exc
            cuts += 1
            if cuts >= CUTS_WITHOUT_PROGRESS:
                break
            time.sleep(RETRY_S * 2 ** (cuts - 1))
            continue
        commit = commit or first.get("X-Repo-Commit")
        with response:
            if have and response.status != 206:  # the server ignores ranges: from the start
                have = 0
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            size = int(total) if total.isdigit() else have + int(
                response.headers.get("Content-Length") or 0)
            meter.expect(name, size, have)
            try:
                have = _copy(response, part, have, meter, name)
            except (http.client.HTTPException, OSError) as exc:  # a cut mid-file
                why = type(exc).__name__
                have = part.stat().st_size if part.exists() else 0
        if size is not None and have >= size:
            break
        cuts = 0 if have > before else cuts + 1
        if cuts >= CUTS_WITHOUT_PROGRESS:
            break
    if size is None or have < size:
        raise ModelUnavailable(
            f"The download of model {spec} from {_host()} keeps being cut off ({why}); what "
            "arrived is kept, and the next try resumes from there.")
    digest = sha256_of(part)
    commit_file(part, folder / name)
    st = (folder / name).stat()
    return {"size": st.st_size, "sha256": digest, "mtime_ns": st.st_mtime_ns,
            "commit": commit}


def _copy(response, part: Path, have: int, meter: Meter, name: str) -> int:
    with open(part, "r+b" if have else "wb") as out:
        out.seek(have)
        out.truncate()
        while block := response.read(CHUNK):
            out.write(block)
            have += len(block)
            meter.add(len(block), name)
        out.flush()
        os.fsync(out.fileno())
    return have
