"""The facade the CLI and the desktop use: folders, indexing, search, status and events."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
import platformdirs

from .store import Catalog
from .embedder import Embedder
from .imaging import ImageError, is_video, open_image
from .index import RWLock, VectorIndex
from .pipeline import IndexingPipeline
from .scanner import Scanner, ScanChanges
from .ranking import Ranker
from .models import DEFAULT_MODEL, ModelSpec, dim_of, display_name, spec_of
from .osutil import give_back_memory
from .paths import inside, normalise
from .search import ExactSearch, RebuildSearch, split_names
from .thumbnails import THUMB_SIZE, remove_thumbnails, save_thumbnail, thumb_path
from .types import (
    Event, Folder, IndexReport, Level, LibraryBusy, ModelMismatch, Notice, Progress, Query, SearchResult,
    SnapseekError, State, split_label,
)

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]
T = TypeVar("T")


def default_home() -> Path:
    env = os.environ.get("SNAPSEEK_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("snapseek", appauthor=False))


def check_device(device: str | None) -> None:
    """Refuse a device this machine does not have, in words (torch would raise deep inside)."""
    kind, _, number = (device or "auto").partition(":")
    if kind in ("auto", "cpu"):
        return
    import torch

    if kind == "cuda":
        if not torch.cuda.is_available():
            raise SnapseekError(f"The device {device} is not available: no CUDA GPU was found "
                                "(use auto or cpu).")
        if number and (not number.isdigit() or int(number) >= torch.cuda.device_count()):
            raise SnapseekError(f"The device {device} is not available: this machine has "
                                f"{torch.cuda.device_count()} CUDA GPU(s), cuda:0 to "
                                f"cuda:{torch.cuda.device_count() - 1}.")
    elif kind == "mps" and not number:
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SnapseekError(f"The device {device} is not available: no Apple GPU (MPS) was "
                                "found (use auto or cpu).")
    else:
        raise SnapseekError(f"Unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps.")


def make_private_home(home: Path) -> None:
    """Create the library home readable by its owner only: it holds a thumbnail of every photo.

    A home made by an earlier version (a folder holding a catalog) is made private too; any
    other folder that exists already is left as it is.
    """
    if not home.exists():
        home.parent.mkdir(parents=True, exist_ok=True)
        try:
            home.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            pass
        else:
            os.chmod(home, 0o700)  # whatever the umask
            return
    if (home / "catalog.db").exists() and os.stat(home).st_mode & 0o077:
        try:
            os.chmod(home, 0o700)
        except OSError as exc:  # not ours to change: say so, keep working
            log.warning("Could not make %s private: %s", home, exc)


# How long a second writer waits for the first before it says the library is busy.
BUSY_WAIT_S = 5.0


class HomeLock:
    """The writer lock of a library home: an exclusive lock on a file in it, so that two
    processes (the app watching, `snapseek index`) never index the same library at once.

    fcntl.flock on POSIX and msvcrt.locking on Windows: the operating system drops the lock
    when the process dies, even by kill -9, so a crash never leaves a library locked (a lock
    file that only exists would). The lock is per process and re-entrant: every Library of
    this home in the process shares it, and it is freed when the last holder releases it.
    """

    _shared: dict[str, HomeLock] = {}
    _shared_lock = threading.Lock()

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self._depth = 0
        self._mutex = threading.Lock()

    @classmethod
    def of(cls, home: Path) -> HomeLock:
        path = Path(os.path.realpath(home)) / "writer.lock"
        with cls._shared_lock:
            return cls._shared.setdefault(str(path), cls(path))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: float) -> bool:
        """Take the lock, waiting up to `wait` seconds for another process; False if busy."""
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            with self._mutex:
                if self._fd is not None:
                    self._depth += 1
                    return True
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                if _try_lock(fd):
                    self._fd, self._depth = fd, 1
                    try:  # who holds it, for a person looking
                        os.ftruncate(fd, 0)
                        os.write(fd, f"{os.getpid()}\n".encode())
                    except OSError:
                        pass
                    return True
                os.close(fd)
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def release(self, all_holds: bool = False) -> None:
        with self._mutex:
            if self._fd is None:
                return
            self._depth = 0 if all_holds else self._depth - 1
            if self._depth <= 0:
                fd, self._fd, self._depth = self._fd, None, 0
                _unlock(fd)
                os.close(fd)


if os.name == "nt":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process holds it
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Library:
    """One library home: a catalog, the model's vectors and their index, and background work."""

    def __init__(self, home: str | Path | None = None, model: str | None = None,
                 device: str = "auto", threads: int | None = None, allow_download: bool = True,
                 thumbs_dir: str | Path | None = None):
        if threads is not None and threads < 0:
            raise SnapseekError(f"threads must be 1 or more (0: automatic), not {threads}.")
        self.home = Path(home).expanduser() if home else default_home()
        make_private_home(self.home)
        self.catalog = Catalog(self.home / "catalog.db")
        self._home_lock = HomeLock.of(self.home)
        self._holds = 0  # this Library's holds on the home lock (released by close)
        self._holds_lock = threading.Lock()
        self._watch_hold = False
        self.thumbs = Path(thumbs_dir).expanduser() if thumbs_dir else self.home / "thumbs"
        stored = self.catalog.get_meta("model")
        self.model_spec = ModelSpec.parse(model).text if model else (stored or DEFAULT_MODEL)
        self.device = device
        self.threads = threads
        self.allow_download = allow_download
        self._embedder: Embedder | None = None
        self._heavy = None  # weakref to a whole model lighten() could not let go
        self._index: VectorIndex | None = None
        self._exact: ExactSearch | None = None
        self.ranker = Ranker(self.catalog, lambda: self.embedder, self._searcher,
                             self.check_model)
        self.index_state = "not loaded"
        self._load_lock = threading.RLock()
        self._rebuild_thread: threading.Thread | None = None
        self._rebuild_failed: str | None = None  # exact search until the library is reopened
        self._listeners: list[Listener] = []
        self._pipeline: IndexingPipeline | None = None
        self._paused = False
        self.young: list[int] = []
        self.background = None  # a BackgroundIndexer while watching
        # switching models (core/switch.py): the model asked for, the switch's target (kept in
        # the catalog's meta), its loaded model, and the lock that lets the flip wait for
        # searches in flight
        self._model_asked = self.model_spec if model else None
        # opened without naming a model: it answers with the library's model, whichever that
        # is when it answers (a switch may flip in another process while it is open)
        self._follows = model is None
        self.switch_target = self.catalog.get_meta("switching_to") or None
        self._switch = None
        self._switch_lock = RWLock()

    # -- events --------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Listeners get Progress and Notice objects, on whatever thread produced them."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop indexing
                log.exception("event listener failed")

    # -- the writer lock -----------------------------------------------------
    @contextmanager
    def writing(self):
        """Hold the library's writer lock (see HomeLock) for a change; re-entrant. Raises
        LibraryBusy when another process keeps it longer than BUSY_WAIT_S seconds."""
        self._acquire()
        try:
            yield self
        finally:
            self._release()

    def _acquire(self) -> None:
        wait = float(os.environ.get("SNAPSEEK_BUSY_WAIT", BUSY_WAIT_S))
        if not self._home_lock.acquire(wait):
            raise LibraryBusy(f"{self.home}: this library is busy (another Snapseek is indexing "
                              "it); try again when it has finished.")
        with self._holds_lock:
            self._holds += 1

    def _release(self) -> bool:
        with self._holds_lock:
            if not self._holds:
                return False
            self._holds -= 1
        self._home_lock.release()
        return True

    @contextmanager
    def _may_save(self):
        """Whether a reader may write the index file now: only when no other process is
        writing this library (it never waits). Yields True or False."""
        got = self._home_lock.acquire(0)
        try:
            yield got
        finally:
            if got:
                self._home_lock.release()

    # -- model and index -----------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._load_lock:
            if self._embedder is None:
                check_device(self.device)
                self._embedder = self._load_embedder()
            return self._embedder

    def _load_embedder(self, light: bool = True) -> Embedder:
        """The library's model, its towers on the faster runtime kept in the home; `light`
        False: the whole torch model, never the exported towers alone."""
        return Embedder.load(self.model_spec, self.device, self.threads, self.allow_download,
                             on_status=lambda text: self.emit(Notice(Level.INFO, text)),
                             runtime_cache=self.home / "runtime", light=light)

    def load_model(self) -> Embedder:
        """Load the model now (downloading it if needed); raises ModelUnavailable."""
        return self.embedder

    def lighten(self) -> bool:
        """Let the whole torch model go once its towers answer from the exported runtime.

        A first run loads the model whole (torch) to export both towers (core/lighttext.py);
        every later run starts light. Without this, a first session would keep the torch
        model (about 1.8 GB with the default) for as long as the app runs. Called by the
        background indexer when it has nothing left to do; True when the model was swapped."""
        import gc

        from .lighttext import LightEmbedder, open_light

        with self._load_lock:
            emb = self._embedder
            if emb is None or isinstance(emb, LightEmbedder) or self._switch is not None \
                    or getattr(emb, "_fast_image", None) is None or emb.runtime_cache is None \
                    or (self._heavy is not None and self._heavy() is emb):
                return False
            self._heavy = weakref.ref(emb)  # tried once per loaded model (kept weakly)
            light = open_light(emb.spec, emb.runtime_cache, self.threads,
                               lambda: self._load_embedder(light=False))
            # (the manifest, not an attribute: a missing one would load the full model again)
            if light is None or light.model_id != emb.model_id \
                    or not light._manifest.get("image_xml"):
                return False
            self._heavy = None
            self._embedder = light
        del emb
        gc.collect()
        give_back_memory()
        log.info("the model answers from its exported towers now; the torch model is released")
        return True

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    def _index_path(self, model_id: str) -> Path:
        return self.home / f"index-{hashlib.blake2b(model_id.encode(), digest_size=8).hexdigest()}.hnsw"

    @property
    def index(self) -> VectorIndex:
        """The vector index, loaded, caught up or rebuilt as needed (blocks; for writers)."""
        me = threading.current_thread()
        while True:
            rebuilding = self._rebuild_thread
            if rebuilding is not None and rebuilding is not me:
                rebuilding.join()
            with self._load_lock:
                if self._rebuild_thread not in (None, me):
                    continue  # a search started a rebuild meanwhile: wait for it, never a second
                if self._index is None:
                    emb = self.embedder
                    with self._may_save() as save:
                        self._index, self.index_state = VectorIndex.open(
                            self._index_path(emb.model_id), emb.model_id, emb.dim,
                            self.catalog, save)
                    if self.index_state.startswith("rebuilt"):
                        self.emit(Notice(Level.WARNING, f"Search index {self.index_state}"))
                return self._index

    def _searcher(self):
        """The index when it is usable; while it is rebuilt, exact search over the catalog's
        vectors held in memory. Results never wait for a rebuild."""
        with self._load_lock:
            if self._index is not None:
                return self._index
            emb = self.embedder
            if self._rebuild_thread is None and self._rebuild_failed is None:
                if self.catalog.vector_count(emb.model_id) == 0:
                    return self.index  # nothing to rebuild: a new, empty index
                path = self._index_path(emb.model_id)
                with self._may_save() as save:
                    index, why = VectorIndex.load(path, emb.model_id, emb.dim, self.catalog, save)
                if index is not None:
                    self._index, self.index_state = index, why
                    return index
                self.index_state = f"rebuilding: {why}"
                self.emit(Notice(Level.WARNING, f"Search index {self.index_state}"))
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

    def _forget_standin(self) -> None:
        """After changes, an exact stand-in kept after a failed rebuild is read again at the
        next search. One beside a rebuild in progress stays: it rescores from the catalog, and
        writers wait for the rebuild before they add to its index."""
        with self._load_lock:
            if self._rebuild_thread is None:
                self._exact = None

    def _label_vectors(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The labels (media id and frame) still in the catalog and their float32 vectors."""
        got, vectors, _ = self.catalog.vectors(
            self.embedder.model_id, ids=sorted({split_label(int(x))[0] for x in labels}))
        row = {int(label): i for i, label in enumerate(got.tolist())}
        kept = [int(x) for x in labels if int(x) in row]
        if not kept:  # all forgotten meanwhile
            return np.empty(0, np.int64), np.empty((0, self.embedder.dim), np.float32)
        return np.asarray(kept, np.int64), vectors[[row[x] for x in kept]]

    def _rebuild(self, index: VectorIndex, why: str, progress) -> None:
        try:
            with self._may_save() as save:
                index.rebuild(self.catalog, save=save, progress=progress)
        except Exception as exc:  # e.g. disk full while saving: keep answering exactly
            log.exception("index rebuild failed")
            with self._load_lock:  # said once, tried again when the library is next opened
                self._rebuild_failed = str(exc)
                self.index_state = f"rebuild failed: {exc}"
                self._rebuild_thread = None
                self._exact = None  # the stand-in let go of what the index took: read it all
            self.emit(Notice(Level.ERROR, f"The search index could not be rebuilt: {exc}. "
                                      "Search stays exact (slower) until Snapseek restarts."))
            return
        with self._load_lock:
            if self._index is None:  # (a model switch may have put another index there)
                self._index, self.index_state = index, f"rebuilt: {why}"
            self._exact = None
            self._rebuild_thread = None
        self.emit(Notice(Level.INFO, "Search index rebuilt"))

    def wait_for_index(self) -> None:
        """Block until a rebuild in progress has finished and been saved."""
        rebuilding = self._rebuild_thread
        if rebuilding is not None:
            rebuilding.join()

    def remember_model(self) -> None:
        """Make the loaded model this library's model (after it loaded successfully)."""
        self.catalog.set_meta("model", self.embedder.spec)
        self.catalog.set_meta("model_id", self.embedder.model_id)

    def check_model(self) -> None:
        """Refuse to compare this model's vectors with another model's."""
        emb = self.embedder
        if emb.spec == (self.catalog.get_meta("switching_to") or None):
            done, total = self._switch_for(emb.spec).progress()
            raise ModelMismatch(
                f"This library is being re-embedded with {emb.spec} ({done:,} of {total:,} "
                "photos so far); until that finishes, search without --model to use the "
                "library's model.")
        if self.catalog.vector_count(emb.model_id) == 0:
            others = self.catalog.other_models(emb.model_id)
            if others:
                theirs = self.catalog.get_meta("model") or ", ".join(
                    sorted({spec_of(o) for o in others}))
                if self._follows:  # the library moved on twice while answering: rare
                    raise ModelMismatch(f"This library's model changed to {theirs} while "
                                        "answering; try again.")
                # only a model the user named gets here; the advice starts nothing they did
                # not ask for
                raise ModelMismatch(
                    f"This library's photos are indexed with {theirs}, not {emb.spec}: search "
                    f"without --model to use {theirs}, the library's model now. (To re-embed "
                    f"every photo with {emb.spec} instead: `snapseek index --model {emb.spec}`.)")

    # -- switching models (core/switch.py) -------------------------------------
    def _switch_for(self, target: str):
        from .switch import ModelSwitch

        if self._switch is None or self._switch.target != target:
            keep = self._embedder if self._embedder and self._embedder.spec == target else None
            self._switch = ModelSwitch(self, target, keep)
        return self._switch

    def _model_ids_of(self, spec: str) -> list[str]:
        return [m for m in self.catalog.model_ids() if spec_of(m) == spec]

    def _unload(self) -> None:
        """Forget the loaded model and index (another model is to answer)."""
        self.wait_for_index()
        with self._switch_lock.write(), self._load_lock:
            self._embedder = self._index = self._exact = None
            self.ranker.forget()
            self.index_state = "not loaded"

    def switch_model(self, spec: str) -> dict | None:
        """Make `spec` this library's model without downtime: its vectors are made in the
        background (run_switch; the watcher and update() run it) while the library's model
        keeps answering every search. A library with no vectors yet just takes the model;
        asking for the library's own model ends a switch in progress. Returns the switch's
        plan (switch_plan) when one starts or goes on, else None."""
        spec = ModelSpec.parse(spec).text
        stored = self.catalog.get_meta("model")
        with self.writing():
            if self.switch_target and self.switch_target != spec:  # a switch given up
                self.drop_models(self._model_ids_of(self.switch_target))
                self.catalog.set_meta("switching_to", "")
                self.switch_target, self._switch = None, None
            if not stored or stored == spec or not self._model_ids_of(stored):
                if spec != self.model_spec:
                    self._unload()
                    self.model_spec = spec
                return None
            if self.model_spec != stored:
                self._switch_for(spec)  # keeps the target's model when it is loaded already
                self._unload()
                self.model_spec = stored
            self.catalog.set_meta("switching_to", spec)
            self.switch_target = spec
            self._switch_for(spec)
            plan = self.switch_plan()
        self.emit(Notice(Level.INFO, plan["text"]))
        return plan

    def begin_switch(self) -> dict | None:
        """A model asked for when opening that is not the library's becomes a switch (see
        switch_model); returns its plan, or the plan of a switch to resume, or None."""
        asked, self._model_asked = self._model_asked, None
        retired = self.catalog.get_meta("retired_models")
        if retired:  # a switch killed after the flip: the old model's vectors go now
            self.drop_models(retired.split("\n"))
            self.catalog.set_meta("retired_models", "")
        if asked is not None:
            return self.switch_model(asked)
        return self.switch_plan() if self.switch_target else None

    def switch_plan(self) -> dict:
        """What a switch costs and frees: the photos to re-embed, and the disk space of the
        old model's vectors (count x dim x 4 bytes) and index file, deleted at the switch."""
        old_bytes = 0
        for model_id in self._model_ids_of(self.model_spec):
            path = self._index_path(model_id)
            old_bytes += (len(self.catalog.vector_ids(model_id)) * dim_of(model_id) * 4
                          + (path.stat().st_size if path.exists() else 0))
        done, total = self._switch_for(self.switch_target).progress()
        old, new = display_name(self.model_spec), display_name(self.switch_target)
        text = (f"Re-embedding {total:,} photos with {new} in the background ({done:,} done); "
                f"{old} answers searches until then. {old}'s vectors and index "
                f"({old_bytes / 1e6:.1f} MB) are deleted after the switch.")
        return {"from": self.model_spec, "to": self.switch_target, "done": done,
                "total": total, "old_bytes": old_bytes, "text": text}

    def run_switch(self, should_stop: Callable[[], bool] | None = None,
                   on_progress: Callable[[Progress], None] | None = None) -> bool:
        """Re-embed with the switch's target until done (then it becomes the library's model:
        True) or should_stop says so (False; the next run resumes)."""
        if not self.switch_target:
            return False
        return self._switch_for(self.switch_target).run(should_stop, on_progress)

    def drop_models(self, model_ids: list[str]) -> int:
        """Delete models' vectors and index files; returns the bytes freed."""
        freed = 0
        with self.writing():
            for model_id in model_ids:
                freed += self.catalog.drop_model(model_id) * dim_of(model_id) * 4
                path = self._index_path(model_id)
                if path.exists():
                    freed += path.stat().st_size
                    path.unlink()
        return freed

    # -- folders -------------------------------------------------------------
    def add_folder(self, path: str | Path) -> Folder:
        with self.writing():
            real = normalise(path)
            if not os.path.isdir(real):
                raise SnapseekError(f"{path} is not a folder.")
            folders = self.catalog.folders()
            for folder in folders:
                if inside(real, folder.path):
                    return folder  # already covered by a watched folder
            # watched folders inside the new one become part of it, photos and vectors kept
            within = [f for f in folders if inside(f.path, real)]
            self.catalog.add_folder(real, absorb=[f.id for f in within])
            if self.background is not None:
                for f in within:
                    self.background.unwatch(f.path)
                self.background.watch(real)
                self.background.queue.add(real, now=True)
            return next(f for f in self.catalog.folders() if f.path == real)

    def remove_folder(self, path: str | Path) -> int:
        with self.writing():
            real = normalise(path)
            folder_id = self.catalog.folder_id(real)
            if folder_id is None:
                raise SnapseekError(f"{path} is not a folder of this library.")
            if self.background is not None:
                self.background.unwatch(real)
            ids = self.catalog.remove_folder(folder_id)
            remove_thumbnails(self.thumbs, ids)  # a forgotten photo leaves no copy behind
            if self._index is not None:
                self._index.remove(ids)
                self._index.save(self.catalog)
            return len(ids)

    def folders(self) -> list[Folder]:
        return self.catalog.folders()

    # -- indexing ------------------------------------------------------------
    @staticmethod
    def _folder_of(path: str, folders: list[tuple[int, str]]) -> int | None:
        """The id of the watched folder a path lies in, if any."""
        for folder_id, root in folders:
            if inside(path, root):
                return folder_id
        return None

    def scan(self, on_progress: Callable[[Progress], None] | None = None,
             paths: list[str] | None = None) -> ScanChanges:
        """Stat-only sweep of every folder (or just `paths` in them); follows renames, copies
        and deletions in the index."""
        with self.writing():
            notify = on_progress or self.emit
            folders = [(f.id, f.path) for f in self.catalog.folders() if not f.paused]
            only = None
            if paths is not None:
                only = {}
                for path in paths:
                    folder_id = self._folder_of(path, folders)
                    if folder_id is not None:
                        only.setdefault(folder_id, []).append(path)
            changes = Scanner(self.catalog).scan(
                folders, on_found=lambda n: notify(Progress(State.SCANNING, found=n)), only=only)
            for where, why in changes.unreadable:
                self.emit(Notice(Level.WARNING, f"{where}: {why}"))
            # deleted photos leave no copy behind; changed ones get new thumbnails when re-embedded
            remove_thumbnails(self.thumbs, changes.removed_ids)
            if self._index is not None or changes.removed_ids or changes.copied_ids:
                index = self.index
                index.remove(changes.removed_ids)
                if changes.copied_ids:
                    ids, vecs, _ = self.catalog.vectors(index.model_id, ids=changes.copied_ids)
                    index.add(ids, vecs)
                if changes.removed_ids or changes.copied_ids:
                    index.seq = self.catalog.max_seq(index.model_id)
                    index.save(self.catalog)
            self._forget_standin()
            return changes

    def index_pending(self, on_progress: Callable[[Progress], None] | None = None,
                      retry_young_s: float = 0.0) -> tuple[int, int, bool]:
        """Embed every photo that has no vector for this library's model yet.

        With retry_young_s, files that fail to decode but changed in the last seconds stay
        pending (they may be half-copied); `young` lists them afterwards.
        """
        with self.writing():
            emb, index = self.embedder, self.index
            items = self.catalog.pending(emb.model_id)
            pipeline = IndexingPipeline(self.catalog, emb, index, self.thumbs,
                                        retry_young_s=retry_young_s)
            self._pipeline = pipeline
            if self._paused:
                pipeline.pause()
            try:
                result = pipeline.run(items, on_progress or self.emit)
                self.update_places()  # cheap, offline: GPS to place names with pass 1
                return result
            finally:
                self.young = pipeline.young
                self._pipeline = None
                self._forget_standin()

    def update(self, on_progress: Callable[[Progress], None] | None = None) -> IndexReport:
        """Scan all folders, then embed what is new: what `snapseek index` does."""
        started = time.monotonic()
        self.begin_switch()  # another model asked for: re-embed beside the library's model
        self.load_model()  # fail before touching anything when the model is unavailable
        with self.writing():
            self.remember_model()
            changes = self.scan(on_progress)
            embedded, failed, cancelled = self.index_pending(on_progress)
            if self.switch_target and not cancelled:
                self.run_switch(on_progress=on_progress)
            return IndexReport(changes.report, embedded, failed, time.monotonic() - started, cancelled)

    def pause(self) -> None:
        """Pause indexing (the batch in flight finishes first)."""
        self._paused = True
        if self._pipeline:
            self._pipeline.pause()

    def resume(self) -> None:
        self._paused = False
        if self._pipeline:
            self._pipeline.resume()

    @property
    def paused(self) -> bool:
        return self._paused

    def cancel(self) -> None:
        """Stop the indexing in progress after its current batch."""
        if self._pipeline:
            self._pipeline.cancel()

    # -- watching ------------------------------------------------------------
    def start_watching(self, settle: float = 1.0, reconcile_every: float | None = None,
                       **options) -> None:
        """Reconcile, then keep every folder indexed in the background until stop()."""
        from .watcher import BackgroundIndexer

        if self.background is not None:
            return
        self._acquire()  # the writer lock, held while watching (LibraryBusy when taken)
        self._watch_hold = True
        if reconcile_every is None:
            reconcile_every = float(self.catalog.get_meta("reconcile_every", "1800"))
        self.background = BackgroundIndexer(self, settle=settle, reconcile_every=reconcile_every,
                                            **options)
        self.background.start()

    def stop(self) -> None:
        """Stop background work cleanly: the batch in flight finishes, the index is saved."""
        if self.background is not None:
            self.background.stop()
            self.background = None
        if self._watch_hold:
            self._watch_hold = False
            self._release()

    # -- search (core/ranking.py) ---------------------------------------------------
    def query_vector(self, query: Query) -> np.ndarray:
        return self.ranker.query_vector(query)

    def search(self, query: Query) -> list[SearchResult]:
        if self.is_empty():  # nothing to find: no model is loaded (or downloaded) for it
            return []
        return self._answer(lambda: self.ranker.search(query))

    def is_empty(self) -> bool:
        """No photo or video catalogued yet (said without the model)."""
        return self.catalog.media_count() == 0

    def _answer(self, ask: Callable[[], T]) -> T:
        """ask() answered by one model from start to end. In this process a switch flips
        between answers, never within one (the read lock). A switch that flips in another
        process is seen in the catalog: an answer begun with the old model is asked again,
        once, with the new one, so a reader that named no model never fails or falls short
        because the library moved on under it."""
        for attempt in (1, 2):
            self._follow_the_library()
            with self._switch_lock.read():
                try:
                    answer = ask()
                except ModelMismatch:
                    if attempt == 2 or not self._moved_on():
                        raise
                    continue
                if attempt == 2 or not self._moved_on():
                    return answer
        raise AssertionError("unreachable")

    def _moved_on(self) -> bool:
        """Whether the library's model is no longer the loaded one (a reader following it)."""
        emb = self._embedder
        if not self._follows or emb is None:
            return False
        current = self.catalog.get_meta("model_id")
        return bool(current) and current != emb.model_id

    def _follow_the_library(self) -> None:
        """A reader following the library loads its model anew once a switch has flipped."""
        if not self._follows or self._switch is not None:  # (this process's own switch flips
            return                                          # its fields itself)
        stored = self.catalog.get_meta("model")
        if stored and stored != self.model_spec:
            log.info("the library's model is %s now (switched in another process)", stored)
            self._unload()
            self.model_spec = stored
            self.switch_target = self.catalog.get_meta("switching_to") or None

    # -- what a photo knows, and why it matched ------------------------------------
    def photo_text(self, media_id: int) -> list[str]:
        """The lines of text read in a photo by the second pass."""
        return self.catalog.photo_text(media_id)

    def about(self, path: str) -> dict:
        """What the library knows of a file beyond its own metadata: text read, people."""
        media_id = self.catalog.media_id_of(normalise(path))
        if media_id is None:
            return {"text": [], "people": []}
        return {"text": self.catalog.photo_text(media_id),
                "people": self.catalog.people_in(media_id)}

    def why(self, media_id: int, query: Query) -> dict:
        """Which typed words a photo holds, and where (text in the picture, name, place,
        keywords or caption), and which chips (date, place, people, filters) it satisfies."""
        from .filters import fold

        details = self.catalog.details(media_id) or {}
        words: list[str] = []
        for text, weight in query.texts:
            if weight > 0:
                words += split_names(text)[2]
        place = self.catalog.place_of(media_id) or ()
        sources = {
            "text in the photo": " ".join(self.catalog.photo_text(media_id)),
            "name": details.get("path", ""),
            "place": " ".join(place),
            "keywords": " ".join(details.get("keywords") or []),
            "caption": details.get("caption") or "",
        }
        found: dict[str, list[str]] = {}
        for where, text in sources.items():
            tokens = set(re.findall(r"[^\W_]+", fold(text)))
            hits = [w for w in dict.fromkeys(words)
                    if any(t.startswith(fold(w)) for t in tokens)]
            if hits:
                found[where] = hits
        chips = []
        if query.after is not None or query.before is not None:
            chips.append("date")
        if query.place:
            chips.append(f"place: {query.place}")
        chips += [f"person: {p}" for p in query.persons]
        for name, on in (("kind", query.kinds), ("camera", query.camera),
                         ("folder", query.folder)):
            if on:
                chips.append(name)
        return {"words": found, "chips": chips}

    def explain(self, path_or_id, query: Query, across: int = 6) -> dict:
        """Why a photo matches: {"score", "words", "chips", "grid"}; grid is where in the
        picture the query matched (occlusion, core/explain.py), rows top first."""
        return self._answer(lambda: self._explain(path_or_id, query, across))

    def _explain(self, path_or_id, query: Query, across: int) -> dict:
        from .explain import occlusion_map

        media_id = (path_or_id if isinstance(path_or_id, int)
                    else self.catalog.media_id_of(normalise(path_or_id)))
        if media_id is None:
            raise SnapseekError(f"{path_or_id} is not in this library (add its folder first).")
        row = self.catalog.media_by_id(media_id)
        emb = self.embedder
        vector = self.query_vector(replace(query, k=1))
        try:
            if is_video(row.path):  # the moment that matched is not known here: the first
                picture = Image.open(self.thumbnail(media_id)).convert("RGB")
            else:
                picture = open_image(row.path, max(emb.image_size, 448)).image
        except (ImageError, OSError, TypeError) as exc:
            raise SnapseekError(f"Cannot read {row.path}: {exc}") from exc
        stored = self.ranker.media_vectors([media_id]).get(media_id)
        score = float(stored @ vector) if stored is not None else None
        _, grid = occlusion_map(emb.encode_images, picture, vector, across=across)
        why = self.why(media_id, query)
        return {"score": score, "words": why["words"], "chips": why["chips"],
                "grid": [[round(float(v), 3) for v in r] for r in grid]}

    # -- places ----------------------------------------------------------------
    def update_places(self) -> int:
        """Look up the place of every photo with a GPS position that has none yet (offline,
        a few microseconds each once the cities are loaded); returns how many."""
        from .places import locate

        done = 0
        while missing := self.catalog.places_missing():
            self.catalog.store_places([(m, locate(lat, lon)) for m, lat, lon in missing])
            done += len(missing)
        return done

    def places(self) -> list[tuple[str, int]]:
        """The library's places for a place filter: (name, photos), cities then countries,
        most photos first."""
        cities: dict[str, int] = {}
        countries: dict[str, int] = {}
        for _, city, _, country, n in self.catalog.places():
            cities[city] = cities.get(city, 0) + n
            countries[country] = countries.get(country, 0) + n
        ranked = sorted(cities.items(), key=lambda x: -x[1])
        return ranked + sorted(countries.items(), key=lambda x: -x[1])

    def place_names(self) -> dict[str, str]:
        """What a query may name as a place (folded name → spelling): the library's own."""
        from .places import Place, known_names

        return known_names([Place(*row[:4], "") for row in self.catalog.places()])

    def duplicates(self, threshold: float = 0.95, neighbours: int = 8) -> list[list[SearchResult]]:
        """Groups of near-duplicate photos, largest first (Ranker.duplicates)."""
        return self._answer(lambda: self.ranker.duplicates(threshold, neighbours))

    def similar(self, media_id: int, k: int = 20) -> list[SearchResult]:
        return self.search(Query(media=[(media_id, 1.0)], k=k))

    # -- status --------------------------------------------------------------
    def status(self) -> dict:
        """Counts, folders, model and index health, without loading the model."""
        stored = self.catalog.get_meta("model")
        model_ids = [h for h in self._model_ids() if spec_of(h) == self.model_spec]
        model_id = self._embedder.model_id if self._embedder else (model_ids[0] if model_ids else None)
        header = self.catalog.index_header(model_id) if model_id else None
        indexed = self.catalog.vector_count(model_id) if model_id else 0
        if header is None:
            health = "missing (rebuilt on next search)" if indexed else "empty"
        else:
            path = self._index_path(model_id)
            ok = path.exists() and path.stat().st_size == header.file_size
            health = (f"ok ({header.count} vectors, generation {header.generation})" if ok
                      else "damaged (rebuilt on next search)")
        return {
            "home": str(self.home),
            "model": self.model_spec,
            "library_model": stored,
            "switching_to": self.switch_target,
            "media_count": self.catalog.media_count(),
            "indexed_count": indexed,
            "error_count": self.catalog.error_count(),
            "index": health,
            "folders": [
                {"path": f.path, "media_count": f.media_count, "errors": f.error_count,
                 "paused": f.paused} for f in self.catalog.folders()
            ],
        }

    def _model_ids(self) -> list[str]:
        return self.catalog.model_ids()

    def errors(self) -> list[tuple[str, str]]:
        return self.catalog.errors()

    def thumbnail(self, media_id: int, frame: int = 0) -> Path | None:
        """The cached thumbnail of a photo (or of a video's moment), made from the original
        when missing (any thread)."""
        path = thumb_path(self.thumbs, media_id, frame)
        if path.exists():
            return path
        if frame:
            return self.thumbnail(media_id)
        row = self.catalog.media_by_id(media_id)
        if row is None:
            return None
        try:
            if is_video(row.path):
                from .video import open_video

                image = open_video(row.path, THUMB_SIZE, max_frames=1).images[0]
            else:
                image = open_image(row.path, THUMB_SIZE).image
            save_thumbnail(image, path)
        except (ImageError, OSError):
            return None
        return path

    def details(self, media_id: int) -> dict | None:
        """All that is known of one photo or video: dimensions, date, camera, lens, GPS, its
        place, the text read in it and the people in it."""
        details = self.catalog.details(media_id)
        if details is not None:
            place = self.catalog.place_of(media_id)
            details["place"] = ({"locality": place[0], "city": place[1], "region": place[2],
                                 "country": place[3]} if place else None)
            details["text"] = self.catalog.photo_text(media_id)
            details["people"] = self.catalog.people_in(media_id)
        return details

    def cameras(self) -> list[str]:
        """Camera names in the library, most used first (for the camera filter)."""
        return self.catalog.cameras()

    def browse(self, query: Query) -> list[SearchResult]:
        """What the filters of a query let through, newest first, without a model."""
        return self.ranker.browse(query)

    def recent(self, k: int = 500) -> list[SearchResult]:
        """The newest photos, for the window before any query."""
        return self.ranker.results(self.catalog.recent(k))

    # -- people: the second pass, faces and people ----------------------------
    # the second pass runs after indexing (`snapseek index`, and the app when indexing is idle);
    # SNAPSEEK_NO_FACES=1 or faces_enabled = False turns it off
    faces_enabled = os.environ.get("SNAPSEEK_NO_FACES", "") in ("", "0")

    # text in photos (core/ocr.py) runs in the same pass; SNAPSEEK_NO_TEXT=1 turns it off
    text_enabled = os.environ.get("SNAPSEEK_NO_TEXT", "") in ("", "0")

    def _enrichers(self) -> list:
        from .faces import FaceEnricher, FaceModelsMissing
        from .ocr import TextEnricher

        enrichers = []
        if self.faces_enabled:
            enricher = FaceEnricher(self.thumbs)
            try:
                enricher.load()
            except (FaceModelsMissing, RuntimeError, OSError) as exc:
                raise SnapseekError(f"Faces cannot be found: {exc}") from exc
            enrichers.append(enricher)
        if self.text_enabled:
            reader = TextEnricher()
            try:
                reader.load()
            except (ImportError, RuntimeError, OSError) as exc:
                raise SnapseekError(f"Text in photos cannot be read: {exc}") from exc
            enrichers.append(reader)
        return enrichers

    def _enricher_versions(self) -> dict[str, int]:
        from .faces import ENRICHER, VERSION
        from .ocr import TextReader

        return {**({ENRICHER: VERSION} if self.faces_enabled else {}),
                **({"text": TextReader.VERSION} if self.text_enabled else {})}

    def enrich_pending(self) -> int:
        """How many indexed photos the second pass has still to look at."""
        versions = self._enricher_versions()
        if not versions:
            return 0
        done, total = self.catalog.enrich_progress(versions)
        return total - done

    def enrich(self, should_stop: Callable[[], bool] | None = None,
               on_progress: Callable[[Progress], None] | None = None,
               limit: int | None = None) -> tuple[int, int, bool]:
        """The second pass: find faces in the indexed photos (and video moments) not yet looked
        at, sorting them into people after each batch. Resumable; returns (done, failed,
        stopped)."""
        from .enrich import EnrichPass
        from .people import People

        with self.writing():
            work = EnrichPass(self.catalog, self.thumbs, self._enrichers(),
                              after_batch=People(self.catalog).update)
            return work.run(should_stop or (lambda: False), on_progress or self.emit, limit)

    def people(self, hidden: bool = False) -> list:
        """People (catalog.PersonRow: id, name, hidden, photos, faces), most photos first."""
        return self.catalog.people(hidden)

    def person_photos(self, person_id: int, k: int = 1000) -> list[SearchResult]:
        """A person's photos, newest first."""
        return self.ranker.results(self.catalog.person_media(person_id, k))

    def person_faces(self, person_id: int | None, k: int = 200) -> list:
        """A person's faces (catalog.FaceRow), best first; None: unsorted faces."""
        return self.catalog.person_faces(person_id, k)

    def faces_in(self, media_id: int) -> list:
        """The faces of one photo (catalog.FaceRow), for a preview."""
        return self.catalog.media_faces(media_id)

    def face_crop(self, face) -> Path | None:
        """The crop of a face (a catalog.FaceRow), when it was kept."""
        from .faces import crop_path

        path = crop_path(self.thumbs, face.media_id, face.frame, face.idx)
        return path if path.exists() else None

    def _person(self, person_id: int):
        person = self.catalog.person(person_id)
        if person is None:
            raise SnapseekError(f"There is no person {person_id} (see `snapseek people`).")
        return person

    def name_person(self, person_id: int, name: str) -> None:
        """Name a person (an empty name clears it); their faces are confirmed as theirs."""
        with self.writing():
            self._person(person_id)
            self.catalog.rename_person(person_id, name.strip() or None)

    def hide_person(self, person_id: int, hidden: bool = True) -> None:
        with self.writing():
            self._person(person_id)
            self.catalog.hide_person(person_id, hidden)

    def merge_people(self, keep: int, gone: int) -> None:
        """`gone` is the same person as `keep`: one person, with both their faces."""
        if keep == gone:
            raise SnapseekError("A person cannot be merged with themselves.")
        with self.writing():
            self._person(keep)
            self._person(gone)
            self.catalog.merge_people(keep, gone)

    def not_this_person(self, face_id: int) -> int | None:
        """A face is not of the person it was sorted into: it leaves, for good."""
        with self.writing():
            return self.catalog.face_not_person(face_id)

    def recluster(self) -> dict:
        """Sort every face into people again, keeping names and corrections."""
        from .people import People

        with self.writing():
            return People(self.catalog).recluster()

    def check_persons(self, names) -> None:
        self.ranker.check_persons(names)

    def person_names(self) -> list[str]:
        """The names given to people, for reading them out of a typed query."""
        return self.catalog.person_names()

    # -- lifetime ------------------------------------------------------------
    def set_folder_paused(self, path: str, paused: bool) -> None:
        with self.writing():
            folder_id = self.catalog.folder_id(normalise(path))
            if folder_id is None:
                raise SnapseekError(f"{path} is not a folder of this library.")
            self.catalog.set_folder_paused(folder_id, paused)
            if self.background is not None and not paused:
                self.background.queue.add(normalise(path), now=True)

    def close(self) -> None:
        self.stop()
        self.cancel()
        self.wait_for_index()
        while self._release():
            pass
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

