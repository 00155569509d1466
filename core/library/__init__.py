"""The facade the CLI and the desktop use: one library home, its catalog, model and vectors,
folders and background work, and events. The work is done by the parts it holds."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.home import BUSY_WAIT_S, HomeLock, default_home, make_private_home, remove_leftovers_of
from core.library.details import PhotoDetails
from core.library.folderwork import FolderWork
from core.library.inflight import InFlight
from core.library.modelholder import ModelHolder
from core.library.peoplebook import PeopleBook
from core.search.ranking import Ranker
from core.search.vectorstore import VectorStore
from core.store import Catalog
from core.types import Event, LibraryBusy, Query, SearchResult, SnapseekError

__all__ = ["Library", "default_home"]
log = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class _Part:
    """A method or field of one of the library's parts, named on the facade too:
    `lib.name_person(...)` is `lib.people_book.name_person(...)`, and `lib.faces_enabled =
    False` sets the part's own (a method replaced so is replaced where the part calls it)."""

    def __init__(self, part: str):
        self.part = part

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, library, owner=None):
        return self if library is None else getattr(getattr(library, self.part), self.name)

    def __set__(self, library, value) -> None:
        setattr(getattr(library, self.part), self.name, value)


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
        self.thumbs = Path(thumbs_dir).expanduser() if thumbs_dir else self.home / "thumbs"
        if thumbs_dir:  # a thumbnail folder of the user's choosing is as private as the home
            make_private_home(self.thumbs)  # (the same rule: a folder of other things is left)
        remove_leftovers_of(self._home_lock, [self.home, self.thumbs])
        self._listeners: list[Listener] = []
        self.in_flight = InFlight()  # the pipeline running now: pause, resume, cancel
        self.model_holder = ModelHolder(
            self.catalog, self.home, model, device, threads, allow_download, emit=self.emit,
            writing=self.writing, thumbs=self.thumbs, running=self.in_flight.running,
            wait_index=self.wait_for_index, drop_index=self._vectors_gone,
            take_index=self._vectors_from)
        models = self.model_holder
        self.vectors = VectorStore(self.home, self.catalog, lambda: models.embedder, self.emit,
                                   models.load_lock, self._may_save)
        self.ranker = Ranker(self.catalog, lambda: models.embedder, self._searcher,
                             models.check_model)
        self.people_book = PeopleBook(self.catalog, self.ranker, self.thumbs, self.writing)
        self.folder_work = FolderWork(self.catalog, self.thumbs, models, self.vectors,
                                      self.in_flight, emit=self.emit, writing=self.writing,
                                      watcher=self._watcher)
        self.photo_details = PhotoDetails(self.catalog, self.home, self.thumbs, models,
                                          self.vectors, self.ranker, self.emit)

    # -- the model (core/library/modelholder.py), named on the facade --------------------
    embedder = _Part("model_holder")
    model_spec = _Part("model_holder")
    switch_target = _Part("model_holder")
    model_loaded = _Part("model_holder")
    load_embedder = _Part("model_holder")
    load_model = _Part("model_holder")
    lighten = _Part("model_holder")
    remember_model = _Part("model_holder")
    check_model = _Part("model_holder")
    switch_model = _Part("model_holder")
    begin_switch = _Part("model_holder")
    switch_plan = _Part("model_holder")
    run_switch = _Part("model_holder")
    drop_models = _Part("model_holder")
    flipping = _Part("model_holder")
    activate = _Part("model_holder")

    # -- the indexing in flight (core/library/inflight.py) -------------------------------
    running = _Part("in_flight")
    pause = _Part("in_flight")
    resume = _Part("in_flight")
    paused = _Part("in_flight")
    cancel = _Part("in_flight")

    # -- folders and indexing (core/library/folderwork.py) -------------------------------
    add_folder = _Part("folder_work")
    remove_folder = _Part("folder_work")
    folders = _Part("folder_work")
    set_folder_paused = _Part("folder_work")
    scan = _Part("folder_work")
    index_pending = _Part("folder_work")
    update_places = _Part("folder_work")
    forget_missing = _Part("folder_work")
    update = _Part("folder_work")
    start_watching = _Part("folder_work")
    stop = _Part("folder_work")
    end_children = _Part("folder_work")
    enrich_pending = _Part("folder_work")
    enrich = _Part("folder_work")
    young = _Part("folder_work")
    background = _Part("folder_work")
    faces_enabled = _Part("folder_work")
    text_enabled = _Part("folder_work")

    # -- what the library knows of photos (core/library/details.py) ----------------------
    photo_text = _Part("photo_details")
    media_id_of = _Part("photo_details")
    about = _Part("photo_details")
    why = _Part("photo_details")
    explain = _Part("photo_details")
    places = _Part("photo_details")
    place_names = _Part("photo_details")
    duplicates = _Part("photo_details")
    status = _Part("photo_details")
    away = _Part("photo_details")
    errors = _Part("photo_details")
    thumbnail = _Part("photo_details")
    details = _Part("photo_details")
    cameras = _Part("photo_details")
    recent = _Part("photo_details")

    # -- people (core/library/peoplebook.py), named on the facade ----------------------------
    people = _Part("people_book")
    suggestions = _Part("people_book")
    file_suggestions = _Part("people_book")
    person_photos = _Part("people_book")
    person_faces = _Part("people_book")
    unsorted_count = _Part("people_book")
    faces_in = _Part("people_book")
    face_crop = _Part("people_book")
    face_paths = _Part("people_book")
    person = _Part("people_book")
    name_person = _Part("people_book")
    confirm_file_name = _Part("people_book")
    hide_person = _Part("people_book")
    merge_people = _Part("people_book")
    not_this_person = _Part("people_book")
    move_face = _Part("people_book")
    move_faces = _Part("people_book")
    name_faces = _Part("people_book")
    reject_faces = _Part("people_book")
    photos_with_people = _Part("people_book")
    recluster = _Part("people_book")
    person_names = _Part("people_book")

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

    def _watcher(self, **options):
        """The background indexer that watches this library's folders (FolderWork's)."""
        from core.folders.watcher import BackgroundIndexer

        return BackgroundIndexer(self, **options)

    # -- the vectors (core/search/vectorstore.py) ------------------------------------------
    @property
    def index(self):
        """The vector index, loaded, caught up or rebuilt as needed (blocks; for writers)."""
        return self.vectors.index()

    @property
    def index_state(self) -> str:
        return self.vectors.state

    def _searcher(self):
        return self.vectors.searcher()

    def _index_path(self, model_id: str) -> Path:
        return self.vectors.path(model_id)

    def wait_for_index(self) -> None:
        """Block until a rebuild in progress has finished and been saved."""
        self.vectors.wait()

    def _vectors_gone(self) -> None:
        """The model was let go: so are its index and what the ranker kept of its vectors."""
        self.vectors.unload()
        self.ranker.forget()

    def _vectors_from(self, index) -> None:
        """A switch flipped: its index answers from now on (the model part's activate)."""
        self.vectors.activate(index)
        self.ranker.forget()

    # -- search (core/search/ranking.py) ---------------------------------------------------
    def query_vector(self, query: Query) -> np.ndarray:
        return self.ranker.query_vector(query)

    def search(self, query: Query) -> list[SearchResult]:
        if self.is_empty():  # nothing to find: no model is loaded (or downloaded) for it
            return []
        return self.model_holder.answer(lambda: self.ranker.search(query))

    def similar(self, media_id: int, k: int = 20) -> list[SearchResult]:
        return self.search(Query(media=[(media_id, 1.0)], k=k))

    def is_empty(self) -> bool:
        """No photo or video catalogued yet (said without the model)."""
        return self.catalog.media_count() == 0

    def close(self) -> None:
        self.stop()
        self.cancel()
        self.wait_for_index()
        self.end_children()
        while self._release():
            pass
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
