"""Switching a library's model without downtime (issue 13, section 3).

The new model's vectors and index are built beside the old ones, which keep answering every
search. When every photo and video moment has a vector of the new model, one catalog
transaction makes it the library's model (meta "model" and "model_id"); then the old model's
vectors and index file are deleted. The target lives in meta "switching_to", so a switch
killed at any moment resumes where it stopped on the next run (`snapseek index`, the app).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from core.folders.pipeline import IndexingPipeline
from core.model.offered import display_name, spec_of
from core.osutil import lower_priority
from core.search.index import VectorIndex
from core.types import Level, Notice, Progress, State

log = logging.getLogger(__name__)

# photos embedded between two looks at should_stop (and at photos that arrived meanwhile)
CHUNK = int(os.environ.get("SNAPSEEK_SWITCH_CHUNK", "256"))


class _Unsaved:
    """The new model's index as the pipeline sees it: added to, saved only when a pass stops
    (or at the switch), not after every chunk."""

    def __init__(self, index: VectorIndex):
        self.index = index

    def add(self, ids, vectors) -> None:
        self.index.add(ids, vectors)

    def remove(self, media_ids) -> None:  # media forgotten while their batch was written
        self.index.remove(media_ids)

    @property
    def seq(self) -> int:
        return self.index.seq

    @seq.setter
    def seq(self, value: int) -> None:
        self.index.seq = value

    def save(self, catalog) -> None:
        pass


class ModelSwitch:
    """Re-embeds a library with `target` while its own model keeps answering; see run().

    It works through the public side of the library's model part (`models`: loading, the
    index files, the flip, dropping the old vectors), writes thumbnails into `thumbs`, and
    holds its pipeline with `running`, so that pausing or cancelling indexing reaches it."""

    def __init__(self, models, target: str, embedder, thumbs: Path,
                 running: Callable[[IndexingPipeline], AbstractContextManager]):
        self.models = models
        self.target = target
        self.thumbs = thumbs
        self.running = running
        self.embedder = embedder if embedder is not None and embedder.spec == target else None
        self.index: VectorIndex | None = None

    def _load(self) -> None:
        models = self.models
        if self.embedder is None:
            # on the faster runtime, as indexing is (core/model/runtime.py): the same vectors as the
            # photos the new model will index later, and a re-embedding that takes less long
            self.embedder = models.load_embedder(self.target)
        if self.index is None:
            emb = self.embedder
            self.index, _ = VectorIndex.open(models.index_path(emb.model_id), emb.model_id,
                                             emb.dim, models.catalog, save=True)

    def progress(self) -> tuple[int, int]:
        """(photos with the target's vectors, photos to have them), without loading it. The
        photos of a folder whose drive is away are not counted: the switch flips without them,
        and they get the target's vectors when their drive is back."""
        models = self.models
        ids = [m for m in models.catalog.model_ids() if spec_of(m) == self.target]
        done = max((models.catalog.vector_count(m) for m in ids), default=0)
        # no vector of the target yet: every photo pending, as no model id is ""
        pending = len(models.catalog.pending(ids[0] if ids else ""))
        return done, done + pending

    def run(self, should_stop: Callable[[], bool] | None = None,
            on_progress: Callable[[Progress], None] | None = None) -> bool:
        """Embed what lacks the target's vectors, a chunk at a time, until done or asked to
        stop; then make the target the library's model. Returns True once it is."""
        models = self.models
        should_stop = should_stop or (lambda: False)
        notify = on_progress or models.emit
        with models.writing():
            self._load()
            lower_priority()  # background work: searches and the desktop come first
            emb, catalog = self.embedder, models.catalog
            name = display_name(self.target)
            while True:
                items = catalog.pending(emb.model_id, limit=CHUNK)
                if not items:
                    if self._flip():
                        notify(Progress(State.IDLE))
                        return True
                    continue  # a photo arrived between the last chunk and the flip
                if should_stop():
                    break
                base = catalog.vector_count(emb.model_id)
                total = base + len(catalog.pending(emb.model_id))

                def report(p: Progress, base=base, total=total) -> None:
                    if p.state in (State.INDEXING, State.PAUSED):
                        notify(Progress(State.RE_EMBEDDING if p.state == State.INDEXING else State.PAUSED,
                                        found=total, done=base + p.done + p.failed,
                                        failed=p.failed, total=total, rate=p.rate,
                                        eta_s=(total - base - p.done - p.failed) / p.rate
                                        if p.rate > 0 else None,
                                        current=p.current, model=name))

                pipeline = IndexingPipeline(catalog, emb, _Unsaved(self.index), self.thumbs)
                with self.running(pipeline):
                    _, _, cancelled = pipeline.run(items, report)
                if cancelled:
                    break
            self.index.save(catalog)  # stopped: what was added is kept for the next pass
            return False

    def _flip(self) -> bool:
        """One transaction makes the target the library's model (only when no photo lacks
        its vector); the old vectors and index file go afterwards."""
        models = self.models
        emb, index = self.embedder, self.index
        index.save(models.catalog)  # the new index whole on disk before it is the library's
        old = [m for m in models.catalog.model_ids() if m != emb.model_id]
        with models.flipping():
            if not models.catalog.make_model_active(emb.spec, emb.model_id, old):
                return False
            models.activate(emb, index)
        freed = models.drop_models(old)  # killed before this: begin_switch deletes them
        models.catalog.set_meta("retired_models", "")
        models.emit(Notice(Level.INFO, f"Now searching with {display_name(emb.spec)}; the old "
                                f"model's vectors and index were deleted ({freed / 1e6:.1f} MB)."))
        return True
