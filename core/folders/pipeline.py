"""The background indexer: a decode pool feeds one embedder; each batch lands in one transaction."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.media.imaging import ImageError, is_video, open_image
from core.media.metadata import file_time
from core.media.thumbnails import (
    decode_sides,
    decode_size,
    remove_thumbnails,
    save_thumbnail,
    thumb_path,
)
from core.search.index import VectorIndex
from core.store import Catalog
from core.types import Progress, State, label_of

log = logging.getLogger(__name__)


@dataclass
class _Decoded:
    media_id: int
    path: str
    # prepared for the image tower (Embedder.prepare): one for a photo, one per moment of a video
    images: list = field(default_factory=list)
    meta: dict | None = None
    error: str | None = None


class IndexingPipeline:
    """Embeds pending media: decode in threads, embed in batches, write, then add to the index."""

    def __init__(
        self, catalog: Catalog, embedder, index: VectorIndex, thumbs: Path,
        batch_size: int = 16, decode_workers: int | None = None, save_every: int = 20,
        retry_young_s: float = 0.0,
    ):
        self.catalog = catalog
        self.embedder = embedder
        self.index = index
        self.thumbs = thumbs
        self.batch_size = batch_size
        self.decode_workers = decode_workers or max(2, min(8, os.cpu_count() or 2))
        self.save_every = save_every
        # a file written in the last seconds that fails to decode may be half-copied: leave it
        # pending for a retry instead of recording it as broken
        self.retry_young_s = retry_young_s
        self.young: list[int] = []
        self._resume = threading.Event()
        self._resume.set()
        self._cancel = threading.Event()

    # -- control (any thread) ------------------------------------------------
    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._resume.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    # -- work ----------------------------------------------------------------
    def _decode(self, media_id: int, path: str) -> _Decoded:
        try:
            if is_video(path):
                from core.media.video import open_video

                video = open_video(path, decode_size(self.embedder.image_size))
                images, meta = video.images, video.meta
            else:
                decoded = open_image(path, *decode_sides(self.embedder.image_size))
                images, meta = [decoded.image], decoded.meta
        except ImageError as exc:
            return _Decoded(media_id, path, error=str(exc))
        except Exception as exc:  # a decoder bug on one odd file must not stop the rest
            log.exception("unexpected error decoding %s", path)
            return _Decoded(media_id, path, error=f"cannot decode ({type(exc).__name__}: {exc})")
        if "taken_at" not in meta:
            try:  # no date in the file: the file's time, and remember that it is only that
                meta.update(file_time(path))
            except OSError:
                pass
        # an OSError here (thumbnail cache unwritable, disk full) fails the batch on purpose
        for frame, image in enumerate(images):
            save_thumbnail(image, thumb_path(self.thumbs, media_id, frame))
        # prepared for the image tower here, in this decode thread, not by the one thread
        # that runs the model
        return _Decoded(media_id, path, [self.embedder.prepare(im) for im in images], meta)

    def run(self, items: list[tuple[int, str]], on_progress: Callable[[Progress], None] | None = None
            ) -> tuple[int, int, bool]:
        """Embed the items; returns (embedded, failed, cancelled)."""
        total = len(items)
        done = failed = batches = 0
        started = time.monotonic()
        notify = on_progress or (lambda p: None)

        def report(state: State, current: str = "") -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = (done + failed) / elapsed
            left = total - done - failed
            eta = left / rate if rate > 0 else None
            notify(Progress(state, found=total, done=done, failed=failed, total=total,
                            rate=rate, eta_s=eta, current=current))

        report(State.INDEXING)
        window = self.decode_workers * 2 + self.batch_size
        pending: deque = deque()
        queue = iter(items)
        with ThreadPoolExecutor(self.decode_workers, thread_name_prefix="decode") as pool:
            def refill():
                while len(pending) < window:
                    item = next(queue, None)
                    if item is None:
                        return
                    pending.append(pool.submit(self._decode, *item))

            refill()
            while pending and not self._cancel.is_set():
                if not self._resume.is_set():
                    report(State.PAUSED)
                    self._resume.wait()
                    if self._cancel.is_set():
                        break
                batch = []
                while pending and len(batch) < self.batch_size:
                    batch.append(pending.popleft().result())
                    refill()
                good = [d for d in batch if d.error is None]
                errors = []
                for d in batch:
                    if d.error is None:
                        continue
                    if self._young(d.path):
                        self.young.append(d.media_id)
                    else:
                        errors.append((d.media_id, d.error))
                # the batch's photos and every moment of its videos, embedded together
                flat = [im for d in good for im in d.images]
                vectors = (self.embedder.encode_images(flat) if flat
                           else np.empty((0, 0), np.float32))
                starts = np.cumsum([0] + [len(d.images) for d in good]).tolist()
                per_item = [vectors[starts[i]:starts[i + 1]] for i in range(len(good))]
                seq, stored = self.catalog.store_vectors(
                    self.embedder.model_id,
                    [(d.media_id, per_item[i], d.meta or {}) for i, d in enumerate(good)], errors)
                keep = [i for i, d in enumerate(good) if d.media_id in stored]
                # forgotten while it was decoded: its fresh thumbnails go with it
                remove_thumbnails(self.thumbs, [d.media_id for d in good
                                                if d.media_id not in stored])
                if keep:
                    labels = [label_of(good[i].media_id, f) for i in keep
                              for f in range(len(good[i].images))]
                    self.index.add(np.array(labels), np.vstack([per_item[i] for i in keep]))
                    self.index.seq = max(self.index.seq, seq)
                    # forgotten (a folder removed) between the write and the add: its removal
                    # found no label yet to remove, so take them out here
                    added = {good[i].media_id for i in keep}
                    self.index.remove(added - self.catalog.media_present(added))
                done += len(good)
                failed += len(errors)
                for media_id, reason in errors:
                    log.info("Skipped media %s: %s", media_id, reason)
                batches += 1
                if batches % self.save_every == 0:
                    self.index.save(self.catalog)
                report(State.INDEXING, batch[-1].path)
            cancelled = self._cancel.is_set()
            for fut in pending:
                fut.cancel()
        if batches:
            self.index.save(self.catalog)
        report(State.IDLE)
        return done, failed, cancelled

    def _young(self, path: str) -> bool:
        if self.retry_young_s <= 0:
            return False
        try:
            return time.time() - os.stat(path).st_mtime < self.retry_young_s
        except OSError:
            return False
