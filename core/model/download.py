"""A model's exported towers fetched from the URLs pinned in core/model/offered.py: resumed where a
cut connection left off (HTTP Range), each file checked against its size and sha256 before it
is renamed into place, so a half-written or altered model is never used."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from core.files import commit_file
from core.model.offered import PinnedExport, PinnedFile, pinned_export
from core.types import ModelUnavailable, Progress, State

log = logging.getLogger(__name__)
CHUNK = 1 << 16
TIMEOUT_S = 30.0
CUTS_WITHOUT_PROGRESS = 3  # a connection cut again and again with nothing new: give up
PROGRESS_EVERY_S = 0.25


def installed(pinned: PinnedExport, folder: Path) -> bool:
    """Every file in place at its size, and the manifest the one pinned (a new publication of
    the export replaces the old)."""
    try:
        if any((folder / f.name).stat().st_size != f.size for f in pinned.files):
            return False
        return sha256_of(folder / pinned.manifest.name) == pinned.manifest.sha256
    except OSError:
        return False


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


class _Meter:
    """Bytes done of all the export's files, the speed of this session and the time left."""

    def __init__(self, pinned: PinnedExport, on_progress: Callable | None):
        self.spec, self.total, self.on_progress = pinned.spec, pinned.total_bytes, on_progress
        self.done = self._session = 0
        self._start = time.monotonic()
        self._last = 0.0

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


def fetch(pinned: PinnedExport, folder: Path, on_progress: Callable | None = None,
          on_notice: Callable[[str], None] | None = None, timeout: float = TIMEOUT_S) -> Path:
    """Download the export into `folder` (resuming what an earlier try left); the manifest's
    path. Raises ModelUnavailable with one line when it cannot."""
    folder.mkdir(parents=True, exist_ok=True)
    meter = _Meter(pinned, on_progress)
    for f in pinned.files:  # the manifest last: it is what makes the files count
        dest = folder / f.name
        if dest.exists() and dest.stat().st_size == f.size and sha256_of(dest) == f.sha256:
            meter.add(f.size, f.name, resumed=True)  # an earlier try's, or a file in common
            continue
        _fetch_file(pinned.spec, f, folder, meter, on_notice, timeout)
    return folder / pinned.manifest.name


def _fetch_file(spec: str, f: PinnedFile, folder: Path, meter: _Meter,
                on_notice: Callable[[str], None] | None, timeout: float) -> None:
    part = folder / f"{f.name}.part"
    for attempt in (1, 2):
        _download(spec, f, part, meter, timeout)
        if part.stat().st_size == f.size and sha256_of(part) == f.sha256:
            commit_file(part, folder / f.name)
            return
        meter.add(-part.stat().st_size, f.name, resumed=True)
        part.unlink()
        line = (f"The downloaded file {f.name} of model {spec} does not match its checksum: "
                "it was removed")
        if attempt == 1:
            log.warning("%s; downloading it again", line)
            if on_notice:
                on_notice(f"{line}; downloading it again.")
    raise ModelUnavailable(f"{line}, twice (from {f.url}). Try again later; the model is "
                           "not used until its files match.")


def _download(spec: str, f: PinnedFile, part: Path, meter: _Meter, timeout: float) -> None:
    """Bring `part` to the file's size, resuming from what it holds after every cut."""
    have = part.stat().st_size if part.exists() else 0
    if have > f.size:  # not this file: start again
        part.unlink()
        have = 0
    meter.add(have, f.name, resumed=True)
    cuts, reason = 0, ""
    while have < f.size and cuts < CUTS_WITHOUT_PROGRESS:
        before = have
        try:
            have = _get(spec, f, part, have, meter, timeout)
        except (http.client.HTTPException, OSError) as exc:  # a cut (TLS's SSLError too)
            reason = type(exc).__name__
            have = part.stat().st_size if part.exists() else 0
        cuts = 0 if have > before else cuts + 1
    if have < f.size:
        raise ModelUnavailable(
            f"The download of model {spec} from {_host(f.url)} keeps being cut off ({reason});"
            " what arrived is kept, and the next try resumes from there.")


def _get(spec: str, f: PinnedFile, part: Path, have: int, meter: _Meter, timeout: float
         ) -> int:
    """One request from byte `have` on, appended to `part`; the bytes `part` holds after."""
    request = urllib.request.Request(f.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise ModelUnavailable(f"Could not download model {spec}: {f.url} answered {exc.code} "
                               f"({exc.reason}).") from exc
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        why = getattr(why, "strerror", None) or str(why) or type(why).__name__
        raise ModelUnavailable(
            f"Could not download model {spec} from {_host(f.url)} ({why}). Connect to the "
            "internet once, or use a model folder: --model local-dir:/path/to/folder.") from exc
    with response:
        if have and response.status != 206:  # the server ignores ranges: from the start
            meter.add(-have, f.name, resumed=True)
            have = 0
        with open(part, "r+b" if have else "wb") as out:
            out.seek(have)
            out.truncate()
            while have <= f.size:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                have += len(block)
                meter.add(len(block), f.name)
            out.flush()
            os.fsync(out.fileno())
    return have


def _host(url: str) -> str:
    return urlparse(url).hostname or url


def fetch_pinned(spec: str, folder: Path, on_progress: Callable | None = None,
                 on_notice: Callable[[str], None] | None = None) -> bool:
    """Download the pinned export of an offered model into `folder` unless it is there; True
    when it is there now. A failure is logged in one line; the caller loads the model itself."""
    pinned = pinned_export(spec)
    if pinned is None:
        return False
    if installed(pinned, folder):
        return True
    if on_notice:
        on_notice(f"Downloading model {spec} ({pinned.total_bytes / 1e6:,.0f} MB, first use "
                  "only)…")
    try:
        fetch(pinned, folder, on_progress, on_notice)
    except (ModelUnavailable, OSError) as exc:  # said once; the caller loads the model itself
        log.warning("%s", exc)
        return False
    return True
