"""The second pass: after photos are searchable, enrichers (faces, text) look at each
photo once more, at a resolution they need, at low priority.

An enricher is small: a `name`, a `version` and `run(image, media) -> (rows, note)`, where the
image is an upright RGB numpy array and `media` a MediaRef. One that works elsewhere (faces, in
a child process) also has `start(image, media)`, which returns at once with the call that waits
for its answer, so the others run meanwhile; `close()`, when it has one, is called once the pass
has nothing left. The pass decodes a photo once for all the enrichers it still needs, on a
thread of its own a few photos ahead, and a video by its moments' thumbnails (made by the first
pass); it hands the next photos over before it waits for a photo's answers, so that an
enricher in a child that is done early is not idle while another finishes. Each photo's rows
and the record that each enricher ran on it (its version and the photo's content hash) are
written in one transaction (Catalog.store_enriched): a kill -9 loses at most the photos in
flight (IN_FLIGHT + 1, done again by the next pass) and never doubles one, and a new
enricher, or a new version of one, runs on exactly the photos it has not seen. Files an
enricher writes (face crops) are keyed by media id in the thumbnail folder, so forgetting a
photo forgets them with its thumbnails.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from core.media.imaging import ImageError, open_image
from core.media.thumbnails import remove_thumbnails, thumb_path
from core.store import Catalog, EnrichItem
from core.types import Progress, State

log = logging.getLogger(__name__)

STATE = State.FINDING_FACES  # the Progress state of the second pass
DECODE_LONG_SIDE = 1280
IN_FLIGHT = 2  # photos handed over ahead of the one whose answers are awaited


@dataclass(frozen=True)
class MediaRef:
    media_id: int
    path: str
    kind: str
    frame: int = 0


@dataclass(frozen=True)
class _Begun:
    """A photo handed to the enrichers: for each, what `_begin` gave for each picture."""
    item: EnrichItem
    answers: dict[str, list]
    unreadable: str | None = None


class Enricher(Protocol):
    name: str
    version: int

    def run(self, image: np.ndarray, media: MediaRef) -> tuple[list, str | None]: ...


def decode(path: str, long_side: int = DECODE_LONG_SIDE) -> np.ndarray:
    """An upright RGB array about `long_side` px on its long side, decoded once (JPEG draft:
    1/2, 1/4 or 1/8 scale, never the full picture when less will do)."""
    return scaled(open_image(path, min_side=long_side * 3 // 4).image, long_side)


def scaled(image: Image.Image, long_side: int) -> np.ndarray:
    """An RGB array of the picture, made about `long_side` px on its long side when it is
    larger by more than a quarter."""
    if max(image.size) > long_side * 5 // 4:
        f = long_side / max(image.size)
        image = image.resize((max(1, round(image.width * f)), max(1, round(image.height * f))),
                             Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image.convert("RGB") if image.mode != "RGB" else image)


class EnrichPass:
    """Runs enrichers over the indexed photos they have not seen, a batch at a time."""

    def __init__(self, catalog: Catalog, thumbs: Path, enrichers: list[Enricher],
                 after_batch: Callable[[], None] | None = None, batch_size: int = 16):
        self.catalog = catalog
        self.thumbs = Path(thumbs)
        self.enrichers = {e.name: e for e in enrichers}
        self.versions = {e.name: int(e.version) for e in enrichers}
        # the size each looks at (faces: small ones are found at 2000 px); a photo is decoded
        # once, at the largest, and made smaller for the others
        self.sizes = {e.name: int(getattr(e, "long_side", DECODE_LONG_SIDE)) for e in enrichers}
        self.after_batch = after_batch
        self.batch_size = batch_size

    def pending(self) -> int:
        done, total = self.catalog.enrich_progress(self.versions)
        return total - done

    def run(self, should_stop: Callable[[], bool] = lambda: False,
            on_progress: Callable[[Progress], None] | None = None,
            limit: int | None = None) -> tuple[int, int, bool]:
        """Enrich until nothing is left, `limit` photos are done, or should_stop() says so
        (checked between photos; the photos handed over by then are finished). Returns (done,
        failed, stopped)."""
        notify = on_progress or (lambda p: None)
        done_before, total = self.catalog.enrich_progress(self.versions)
        done = failed = 0
        started = time.monotonic()
        stopped = False
        seen: set[int] = set()
        in_flight: deque[_Begun] = deque()  # handed over, answers not yet stored

        def finish() -> None:
            nonlocal done, failed
            begun = in_flight.popleft()
            ok = self._finish(begun)
            done += ok
            failed += not ok
            rate = (done + failed) / max(time.monotonic() - started, 1e-6)
            left = max(0, total - done_before - done - failed)
            notify(Progress(STATE, found=total, done=done_before + done + failed,
                            failed=failed, total=total, rate=rate,
                            eta_s=left / rate if rate else None, current=begun.item.path))

        with ThreadPoolExecutor(1, thread_name_prefix="enrich-decode") as decoder:
            while not stopped:
                items = [i for i in self.catalog.enrich_pending(self.versions,
                                                                self.batch_size + len(seen))
                         if i.media_id not in seen][: self.batch_size]
                if not items:
                    break
                # the next photos decode while these are looked at, as many as are in flight
                ahead = deque(decoder.submit(self._pictures, i) for i in items[:IN_FLIGHT + 1])
                try:
                    for k, item in enumerate(items):
                        if should_stop() or (limit is not None
                                             and done + failed + len(in_flight) >= limit):
                            stopped = True
                            break
                        seen.add(item.media_id)
                        pictures = ahead.popleft()
                        if k + IN_FLIGHT + 1 < len(items):
                            ahead.append(decoder.submit(self._pictures,
                                                        items[k + IN_FLIGHT + 1]))
                        # handed over before the last ones' answers are awaited: an enricher
                        # in a child that is done early begins the next photo meanwhile
                        in_flight.append(self._begin_photo(item, pictures))
                        if len(in_flight) > IN_FLIGHT:
                            finish()
                finally:  # (stopped, or storing failed: what is decoded ahead is not needed)
                    for decoding in ahead:
                        decoding.cancel()
                while in_flight:  # (a batch's people are sorted once its photos are stored)
                    finish()
                if self.after_batch is not None:
                    self.after_batch()
        if not stopped:
            for enricher in self.enrichers.values():
                if hasattr(enricher, "close"):
                    enricher.close()
        if (done or failed) and not stopped:  # the pass is over ("idle" is the first pass's)
            notify(Progress(STATE, found=total, done=total, failed=failed, total=total))
        return done, failed, stopped

    def _pictures(self, item: EnrichItem) -> dict[int, list[np.ndarray]]:
        """The photo (or a video's moments) at each size the enrichers look at."""
        sizes = set(self.sizes.values())
        if item.kind != "video":
            image = open_image(item.path, min_side=max(sizes) * 3 // 4).image
            return {size: [scaled(image, size)] for size in sizes}
        out = []
        for frame in range(item.frames):  # a video's moments, from the first pass's thumbnails
            path = thumb_path(self.thumbs, item.media_id, frame)
            with Image.open(path) as im:
                out.append(np.asarray(im.convert("RGB")))
        return dict.fromkeys(sizes, out)

    def _begin_photo(self, item: EnrichItem, decoded: Future) -> _Begun:
        """Hand one photo to the enrichers that still need it: those that work elsewhere
        begin first, then the others run here meanwhile. An unreadable photo is recorded
        with its reason (one line) and not tried again until it changes."""
        names = [n for n in self.enrichers if n in item.needs]
        try:
            pictures = decoded.result()
        except (ImageError, OSError) as exc:
            reason = f"unreadable: {exc}"
            log.info("%s: %s", item.path, reason)
            return _Begun(item, {n: [] for n in names}, reason)
        names.sort(key=lambda n: not hasattr(self.enrichers[n], "start"))
        return _Begun(item, {n: [self._begin(n, picture, item, frame)
                                 for frame, picture in enumerate(pictures[self.sizes[n]])]
                             for n in names})

    def _finish(self, begun: _Begun) -> bool:
        """Wait for one photo's answers and store them; True when it was read."""
        item, results = begun.item, []
        for name, answers in begun.answers.items():
            rows, notes = [], [begun.unreadable] if begun.unreadable else []
            for answer in answers:
                got, note = self._answer(name, answer, item)
                rows += got
                if note:
                    notes.append(note)
            results.append((name, self.versions[name], rows, "; ".join(notes) or None))
        stored = self.catalog.store_enriched(item.media_id, item.content_hash, results)
        if not stored and self.catalog.media_by_id(item.media_id) is None:
            # forgotten while it was looked at: the files written for it go too
            remove_thumbnails(self.thumbs, [item.media_id])
        return begun.unreadable is None

    def _begin(self, name: str, picture: np.ndarray, item: EnrichItem, frame: int):
        """What `start` returns (the call that waits), or the answer itself: one picture."""
        enricher = self.enrichers[name]
        media = MediaRef(item.media_id, item.path, item.kind, frame)
        try:
            if hasattr(enricher, "start"):
                return enricher.start(picture, media)
            return enricher.run(picture, media)
        except Exception as exc:  # an enricher's bug on one photo stops nothing
            return exc

    @staticmethod
    def _answer(name: str, begun, item: EnrichItem) -> tuple[list, str | None]:
        try:
            if isinstance(begun, Exception):
                raise begun
            return begun() if callable(begun) else begun
        except Exception as exc:
            log.exception("%s failed on %s", name, item.path)
            return [], f"failed: {type(exc).__name__}: {exc}"
