"""The vector index: an hnswlib cache of the catalog's vectors, checked against SQLite on load."""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import hnswlib
import numpy as np

from core.children import fork
from core.files import atomic_path, sampled_hash
from core.rwlock import RWLock
from core.search.scoring import exact_top
from core.store import Catalog, IndexHeader
from core.types import MEDIA_MASK, SnapseekError

log = logging.getLogger(__name__)

# Chosen from the sweep in benchmarks/ann.py (docs/PERFORMANCE.md).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 96


def ef_for(count: int) -> int:
    """The search breadth for an index of `count` vectors. Recall at a fixed ef falls as the
    graph grows (0.99 at 300k, 0.957 at 1M with 96 on 768-d clustered vectors, benchmarks.scale):
    ef grows with the library past 300k, to keep recall@20 near 0.99 while a query stays in
    the milliseconds."""
    return min(512, max(HNSW_EF_SEARCH, int(HNSW_EF_SEARCH * count / 300_000)))
MIN_CAPACITY = 1024
# vectors added under one hold of the write lock while a rebuild runs beside queries (a query
# waits at most about a quarter of a second on two cores with the default model's 768-d vectors)
ADD_BATCH = 256
# a filter that lets fewer labels through is answered by scoring them exactly
EXACT_BELOW = 2048


class SearchIndexError(SnapseekError):
    """hnswlib failed on a query or an add: said in words, with the way out."""


# hnswlib holds Python's interpreter lock for a whole save_index (and load_index): 2.4 s for
# 200k 768-d vectors here, every thread of the app frozen, its window too. On Linux the file is
# written by a forked child instead, from the memory it shares with this process at the fork.
FORK_WRITES = sys.platform.startswith("linux") and hasattr(os, "fork")
# A fork stalls too: the process's page tables are copied while the lock is held (the app's
# window missed 55 ms with its model loaded, against 14 ms without the fork, `make bench`
# section gui). A smaller file is written here, in about 1 ms per MiB.
FORK_MIN_BYTES = 32 << 20
# the child only writes and exits; it takes no lock another thread could have held
warnings.filterwarnings("ignore", message=r".*multi-threaded.*fork", category=DeprecationWarning,
                        module=__name__)


def write_apart(index: hnswlib.Index, path: str, nbytes: int) -> Callable[[], None]:
    """Start writing the index file (about `nbytes`); returns the wait for it, which raises
    OSError when the write failed. The snapshot written is the index as it is now
    (copy-on-write after a fork: no second copy in memory), so the caller may change the index
    once this returns."""
    pid = -1
    if FORK_WRITES and nbytes >= FORK_MIN_BYTES:
        try:
            pid = fork()  # it ends with this process, however this one ends
        except OSError:  # no process to be had (memory, limits): written here, as elsewhere
            log.info("could not fork to write the index; writing it in this process",
                     exc_info=True)
    if pid < 0:
        index.save_index(path)
        return lambda: None
    if pid == 0:  # the child: write, then leave at once without running anything else
        code = 1
        try:
            index.save_index(path)
            code = 0
        finally:
            os._exit(code)

    def wait() -> None:
        _, status = os.waitpid(pid, 0)  # waits without the interpreter lock
        if os.waitstatus_to_exitcode(status) != 0:
            raise OSError(errno.EIO, f"the search index could not be written ({path}): "
                          f"its writer ended with {os.waitstatus_to_exitcode(status)}")

    return wait


class VectorIndex:
    """hnswlib `ip` space over normalised vectors; labels are media ids (and, for a video's
    later moments, the media id with the frame number above it: catalog.label_of)."""

    REBUILD_BLOCK = 8192  # rows a rebuild (and its stand-in) reads at a time: 24 MB of 768-d

    def __init__(self, path: Path, model_id: str, dim: int):
        self.path = Path(path)
        self.model_id = model_id
        self.dim = dim
        self._lock = RWLock()  # queries together; add, remove and the file write alone
        self._save_lock = threading.Lock()  # one save at a time
        self._index = self._new(MIN_CAPACITY)
        self._live: set[int] = set()
        self._moments: dict[int, set[int]] = {}  # media id → its labels beyond frame 0
        self.seq = 0
        self.generation = 0

    @staticmethod
    def _new_raw(dim: int, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=capacity, M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
        index.set_ef(HNSW_EF_SEARCH)
        return index

    def _new(self, capacity: int) -> hnswlib.Index:
        return self._new_raw(self.dim, capacity)

    def __len__(self) -> int:
        return len(self._live)

    @property
    def ids(self) -> set[int]:
        return set(self._live)

    # -- changes -------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._lock.write():
            need = self._index.get_current_count() + len(ids)
            if need > self._index.get_max_elements():
                self._index.resize_index(max(need, int(self._index.get_max_elements() * 1.5)))
            with self._failures("add to"):
                self._index.add_items(vectors, np.asarray(ids, dtype=np.int64))
            self._track(ids)
            self._index.set_ef(ef_for(self._index.get_current_count()))

    @contextmanager
    def _failures(self, doing: str):
        """hnswlib's RuntimeErrors as one sentence that says how to recover."""
        try:
            yield
        except RuntimeError as exc:
            log.info("hnswlib failed", exc_info=True)
            raise SearchIndexError(
                f"Could not {doing} the search index {self.path} ({exc}). Delete that file: "
                "it is rebuilt from the catalog on the next search.") from exc

    def _track(self, labels: np.ndarray) -> None:
        labels = np.asarray(labels, np.int64)
        self._live.update(labels.tolist())
        for label in labels[labels > MEDIA_MASK].tolist():  # a video's later moments
            self._moments.setdefault(label & MEDIA_MASK, set()).add(label)

    def remove(self, ids) -> None:
        """Forget media ids: a photo's vector, or every moment of a video."""
        with self._lock.write():
            for media_id in ids:
                media_id = int(media_id)
                for label in (media_id, *self._moments.pop(media_id, ())):
                    if label in self._live:
                        self._index.mark_deleted(label)
                        self._live.discard(label)

    # -- queries -------------------------------------------------------------
    def knn(self, vector: np.ndarray, k: int, allowed: set[int] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        """(labels, similarities) of the k nearest live vectors, best first; with `allowed`,
        only labels of those media ids (every moment of an allowed video).

        hnswlib searches with max(ef, k) itself, so ef stays at its default: a query for 500
        never leaves the next query for 5 searching 500 wide. A few allowed labels are scored
        exactly (their vectors read back from the index); many go through hnswlib's filter.
        """
        query = np.asarray(vector, np.float32).reshape(1, -1)
        with self._lock.read():
            if allowed is None:
                k = min(k, len(self._live))
                if k <= 0:
                    return np.empty(0, np.int64), np.empty(0, np.float32)
                with self._failures("search"):
                    labels, dists = self._index.knn_query(query, k=k)
                return labels[0].astype(np.int64), (1.0 - dists[0]).astype(np.float32)
            wanted = self._labels_of(allowed)
            k = min(k, len(wanted))
            if k <= 0:
                return np.empty(0, np.int64), np.empty(0, np.float32)
            if len(wanted) > EXACT_BELOW:
                try:
                    labels, dists = self._index.knn_query(
                        query, k=k, filter=lambda label: (label & MEDIA_MASK) in allowed)
                    return labels[0].astype(np.int64), (1.0 - dists[0]).astype(np.float32)
                except RuntimeError:  # fewer than k reached through the graph: score them all
                    log.info("filtered search fell short; scoring the allowed labels exactly")
            with self._failures("search"):
                vectors = np.asarray(self._index.get_items(wanted), np.float32)
        return exact_top(np.asarray(wanted, np.int64), vectors @ query[0], k)

    def _labels_of(self, media_ids: set[int]) -> list[int]:
        """The live labels of these media ids: a photo's, every moment of a video's."""
        out = []
        for media_id in media_ids:
            if media_id in self._live:
                out.append(media_id)
                out.extend(self._moments.get(media_id, ()))
        return out

    def moment_slack(self, k: int, allowed: set[int] | None = None) -> int:
        """How many labels beyond k to ask for so that k different media come back: a video's
        later moments may rank right below its best one."""
        with self._lock.read():  # an add beside it grows the map of moments
            sizes = [len(v) for m, v in self._moments.items() if allowed is None or m in allowed]
        return min(sum(sizes), max(k - 1, 0) * max(sizes, default=0))

    def knn_many(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest neighbours for many vectors at once (hnswlib spreads them over threads)."""
        with self._lock.read():
            k = min(k, len(self._live))
            if k <= 0 or len(vectors) == 0:
                return np.empty((len(vectors), 0), np.int64), np.empty((len(vectors), 0))
            with self._failures("search"):
                labels, dists = self._index.knn_query(np.asarray(vectors, np.float32), k=k)
        return labels.astype(np.int64), 1.0 - dists

    # -- persistence ---------------------------------------------------------
    def save(self, catalog: Catalog) -> None:
        """Atomic save: a temp file of its own, fsync, os.replace, then the header in SQLite.

        Saves run one at a time (a later save's header never precedes an earlier one's file),
        and the header counts exactly what the file holds. On Linux a forked child writes the
        file (see write_apart): adds, removes and queries go on meanwhile."""
        with self._save_lock:
            with atomic_path(self.path) as tmp:
                with self._lock.read():
                    # hnswlib does not report a failed write (a full disk leaves a short
                    # file): every stored element takes at least this much, so a shorter file
                    # is refused and the last good file stays
                    least = self._index.get_current_count() * (
                        2 * HNSW_M * 4 + 4 + self.dim * 4 + 8 + 4)
                    written = write_apart(self._index, tmp, least)
                    count, seq = len(self._live), self.seq
                written()  # adds and removes go on meanwhile: the file is the fork's snapshot
                if os.path.getsize(tmp) < least:
                    raise OSError(errno.ENOSPC, "No space left on device: the search index "
                                  f"could not be written in full ({self.path})")
            self.generation += 1
            catalog.set_index_header(IndexHeader(
                self.model_id, self.dim, count, seq, self.path.stat().st_size,
                sampled_hash(self.path), self.generation))

    @classmethod
    def open(cls, path: Path, model_id: str, dim: int, catalog: Catalog, save: bool = True
             ) -> tuple[VectorIndex, str]:
        """Load the index and bring it level with the catalog; rebuild when it can't be trusted.

        Returns the index and what happened: 'loaded', 'caught-up' or 'rebuilt: <why>'.
        Without `save` (a reader while another process writes) the file is left alone.
        """
        idx, why = cls.load(path, model_id, dim, catalog, save)
        if idx is not None:
            return idx, why
        idx = cls(path, model_id, dim)
        if catalog.index_header(model_id) is None and catalog.vector_count(model_id) == 0:
            if save:
                idx.save(catalog)  # a new library: nothing to rebuild
            return idx, "new"
        log.warning("Rebuilding the vector index %s: %s", path, why)
        idx.rebuild(catalog, save)
        return idx, f"rebuilt: {why}"

    @classmethod
    def load(cls, path: Path, model_id: str, dim: int, catalog: Catalog, save: bool = True
             ) -> tuple[VectorIndex | None, str]:
        """Load and catch up without rebuilding: (index, 'loaded' | 'caught-up') or (None, why)."""
        idx = cls(path, model_id, dim)
        why = idx._try_load(catalog)
        if why is not None:
            return None, why
        changed = idx._catch_up(catalog)
        if changed and save:
            idx.save(catalog)
        return idx, "caught-up" if changed else "loaded"

    def _try_load(self, catalog: Catalog) -> str | None:
        header = catalog.index_header(self.model_id)
        if header is None:
            return "no index header in the catalog"
        if not self.path.exists():
            return "index file missing"
        if header.dim != self.dim:
            return f"dimension {header.dim} in header, model has {self.dim}"
        if self.path.stat().st_size != header.file_size:
            return "index file size differs from the header (truncated or replaced)"
        if sampled_hash(self.path) != header.fingerprint:
            return "index file contents differ from the header (corrupt)"
        # load into a fresh object: a failed load leaves hnswlib's object unusable
        raw = hnswlib.Index(space="ip", dim=self.dim)
        try:
            raw.load_index(str(self.path), max_elements=0)
        except (RuntimeError, ValueError, MemoryError) as exc:
            return f"index file unreadable ({exc})"
        raw.set_ef(ef_for(raw.get_current_count()))
        self._index = raw
        self.seq = header.seq
        self.generation = header.generation
        return None

    def _catch_up(self, catalog: Catalog) -> bool:
        """Apply what the catalog gained or lost since the index was saved.

        Media ids are never reused (AUTOINCREMENT) and the catalog commits before the index
        changes, so a label the catalog still has was never marked deleted in the file.
        """
        truth = catalog.vector_ids(self.model_id)
        labels = np.asarray(self._index.get_ids_list(), np.int64)  # deleted labels included
        self._live, self._moments = set(), {}
        self._track(np.intersect1d(labels, truth, assume_unique=True))
        changed = False
        for label in np.setdiff1d(labels, truth, assume_unique=True).tolist():
            try:
                self._index.mark_deleted(label)
                changed = True
            except RuntimeError:
                pass  # deleted before the save
        # vectors written after the save, plus any the index never got
        ids, vecs, max_seq = catalog.vectors(self.model_id, since_seq=self.seq)
        missing = np.setdiff1d(np.setdiff1d(truth, labels, assume_unique=True), ids)
        if len(missing):
            extra_ids, extra_vecs, _ = catalog.vectors(
                self.model_id, ids=sorted(set((missing & MEDIA_MASK).tolist())))
            keep = np.isin(extra_ids, missing)  # a video's other moments are in already
            extra_ids, extra_vecs = extra_ids[keep], extra_vecs[keep]
            ids = np.concatenate([ids, extra_ids]) if len(ids) else extra_ids
            vecs = np.vstack([vecs, extra_vecs]) if len(vecs) else extra_vecs
        if len(ids):
            self.add(ids, vecs)
            changed = True
        self.seq = max(self.seq, max_seq)
        return changed

    def rebuild(self, catalog: Catalog, save: bool = True,
                progress: Callable[[int], None] | None = None) -> None:
        """Build afresh from the catalog, a block of vectors at a time: at no point is the whole
        table in memory beside the index (at 1M 768-d vectors that was 3 GB more). Queries may
        run meanwhile: each add holds the write lock for one small batch only, and `progress`
        is told the last label of each block once the index holds it (a stand-in answering
        for the vectors not yet added lets go of them)."""
        seq = catalog.max_seq(self.model_id)  # later writes are caught up on the next load
        count = catalog.vector_count(self.model_id, moments=True)
        index = self._new(max(MIN_CAPACITY, int(count * 1.25)))
        with self._lock.write():
            self._index = index
            self._live, self._moments = set(), {}
            self.seq = seq
        for labels, vectors, _ in catalog.iter_vectors(self.model_id, block=self.REBUILD_BLOCK):
            for start in range(0, len(labels), ADD_BATCH):
                self.add(labels[start:start + ADD_BATCH], vectors[start:start + ADD_BATCH])
            if progress is not None:
                progress(int(labels[-1]))
        if save:
            self.save(catalog)
