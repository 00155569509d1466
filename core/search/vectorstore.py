"""The library model's vectors as searches see them: the hnswlib index when it is usable, and
while it is rebuilt, the part already built plus an exact stand-in over the catalog's vectors;
the rebuild thread, its failed state, and the choice between them. One owner for all of it."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from core.search.index import VectorIndex
from core.search.scoring import ExactSearch, RebuildSearch
from core.types import Level, Notice, split_label

log = logging.getLogger(__name__)


def index_file(home: Path, model_id: str) -> Path:
    """The index file of a model's vectors in a library home."""
    digest = hashlib.blake2b(model_id.encode(), digest_size=8).hexdigest()
    return home / f"index-{digest}.hnsw"


class VectorStore:
    """The index of one library home (or its stand-in), for the model `embedder()` returns.

    `lock` is the library's model lock (loading the model and the index go under one lock, in
    one order); `may_save()` yields whether this process may write the index file now."""

    def __init__(self, home: Path, catalog, embedder: Callable, emit: Callable,
                 lock: threading.RLock, may_save: Callable[[], AbstractContextManager[bool]]):
        self.home, self.catalog, self._embedder, self.emit = home, catalog, embedder, emit
        self._lock, self._may_save = lock, may_save
        self._index: VectorIndex | None = None
        self._model_id: str | None = None  # the model whose vectors these are (None: unloaded)
        self._exact: ExactSearch | None = None
        self._rebuild_thread: threading.Thread | None = None
        self._rebuild_failed: str | None = None  # exact search until the library is reopened
        self.state = "not loaded"

    def path(self, model_id: str) -> Path:
        """The index file of a model's vectors in the home."""
        return index_file(self.home, model_id)

    @property
    def loaded(self) -> VectorIndex | None:
        """The index when it is loaded (None: not loaded, or being rebuilt)."""
        return self._index

    def index(self) -> VectorIndex:
        """The vector index, loaded, caught up or rebuilt as needed (blocks; for writers)."""
        me = threading.current_thread()
        while True:
            rebuilding = self._rebuild_thread
            if rebuilding is not None and rebuilding is not me:
                rebuilding.join()
            with self._lock:
                if self._rebuild_thread not in (None, me):
                    continue  # a search started a rebuild meanwhile: wait for it, never a second
                if self._index is None:
                    emb = self._embedder()
                    self._model_id = emb.model_id
                    with self._may_save() as save:
                        self._index, self.state = VectorIndex.open(
                            self.path(emb.model_id), emb.model_id, emb.dim, self.catalog, save)
                    if self.state.startswith("rebuilt"):
                        self.emit(Notice(Level.WARNING, f"Search index {self.state}"))
                return self._index

    def searcher(self):
        """The index when it is usable; while it is rebuilt, exact search over the catalog's
        vectors held in memory. Results never wait for a rebuild."""
        with self._lock:
            if self._index is not None:
                return self._index
            emb = self._embedder()
            self._model_id = emb.model_id
            if self._rebuild_thread is None and self._rebuild_failed is None:
                if self.catalog.vector_count(emb.model_id) == 0:
                    return self.index()  # nothing to rebuild: a new, empty index
                path = self.path(emb.model_id)
                with self._may_save() as save:
                    index, why = VectorIndex.load(path, emb.model_id, emb.dim, self.catalog, save)
                if index is not None:
                    self._index, self.state = index, why
                    return index
                self.state = f"rebuilding: {why}"
                self.emit(Notice(Level.WARNING, f"Search index {self.state}"))
                # queries go to the part already built and to a stand-in for the rest, which
                # lets go of each block of vectors once the index holds it
                building = VectorIndex(path, emb.model_id, emb.dim)
                self._exact = RebuildSearch(building, self._standin(emb.model_id))
                self._rebuild_thread = threading.Thread(
                    target=self._rebuild, args=(building, why, self._exact.taken),
                    name="snapseek-rebuild")
                self._rebuild_thread.start()
            if self._exact is None:  # the rebuild failed: exact search over every vector
                self._exact = self._standin(emb.model_id)
            return self._exact

    def _standin(self, model_id: str) -> ExactSearch:
        """Exact search over the catalog's vectors read straight into float16 blocks (half the
        memory); its best candidates are scored again from the catalog's float32 vectors."""
        return ExactSearch.from_blocks(
            self.catalog.iter_vectors(model_id, dtype=np.float16,
                                      block=VectorIndex.REBUILD_BLOCK),
            dtype=np.float16, exact=self._label_vectors)

    def forget_standin(self) -> None:
        """After changes, an exact stand-in kept after a failed rebuild is read again at the
        next search. One beside a rebuild in progress stays: it rescores from the catalog, and
        writers wait for the rebuild before they add to its index."""
        with self._lock:
            if self._rebuild_thread is None:
                self._exact = None

    def _label_vectors(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The labels (media id and frame) still in the catalog and their float32 vectors."""
        emb = self._embedder()
        got, vectors, _ = self.catalog.vectors(
            emb.model_id, ids=sorted({split_label(int(x))[0] for x in labels}))
        row = {int(label): i for i, label in enumerate(got.tolist())}
        kept = [int(x) for x in labels if int(x) in row]
        if not kept:  # all forgotten meanwhile
            return np.empty(0, np.int64), np.empty((0, emb.dim), np.float32)
        return np.asarray(kept, np.int64), vectors[[row[x] for x in kept]]

    def _rebuild(self, index: VectorIndex, why: str, progress) -> None:
        try:
            with self._may_save() as save:
                index.rebuild(self.catalog, save=save, progress=progress)
        except Exception as exc:  # e.g. disk full while saving: keep answering exactly
            log.exception("index rebuild failed")
            with self._lock:  # said once, tried again when the library is next opened
                self._rebuild_failed = str(exc)
                self.state = f"rebuild failed: {exc}"
                self._rebuild_thread = None
                self._exact = None  # the stand-in let go of what the index took: read it all
            self.emit(Notice(Level.ERROR, f"The search index could not be rebuilt: {exc}. "
                                      "Search stays exact (slower) until Snapseek restarts."))
            return
        with self._lock:
            # only into the place it was built for: a model switch may have put another index
            # there, and the model it was built for may have been let go meanwhile (an unload
            # waits for rebuilds before it takes the lock: a search can start one in between)
            current = self._index is None and index.model_id == self._model_id
            if current:
                self._index, self.state = index, f"rebuilt: {why}"
            self._exact = None
            self._rebuild_thread = None
        if current:
            self.emit(Notice(Level.INFO, "Search index rebuilt"))

    def wait(self) -> None:
        """Block until a rebuild in progress has finished and been saved."""
        rebuilding = self._rebuild_thread
        if rebuilding is not None:
            rebuilding.join()

    def activate(self, index: VectorIndex) -> None:
        """Another model's index answers from now on (a model switch's flip; the caller holds
        the lock)."""
        self._index, self._exact, self.state = index, None, "loaded"
        self._model_id = index.model_id

    def unload(self) -> None:
        """Forget the index and any stand-in (the caller holds the lock, after wait())."""
        self._index = self._exact = self._model_id = None
        self.state = "not loaded"
