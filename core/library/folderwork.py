"""The library's folders and the work on them: scans, the first pass that makes photos
searchable, the second (faces and text), pausing, and watching in the background."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

from core.folders import drives
from core.folders.pipeline import IndexingPipeline
from core.folders.presence import Presence
from core.folders.scanner import ScanChanges, Scanner
from core.media.thumbnails import remove_thumbnails
from core.paths import inside, normalise
from core.types import Folder, IndexReport, Level, Notice, Progress, SnapseekError, State


class FolderWork:
    """The library's part that owns folders and indexing: the folders, their scans, both
    passes, and watching them in the background. Its own state: the photos a pass left young,
    the folders whose gone photos may go, the watcher and its hold on the writer lock, and
    whether its second pass started its children (faces, text). It is given the catalog, the
    thumbnail folder, the model part (`models`), the vectors, the indexing in flight, the library's
    events and writer lock, and `watcher`, which makes the library's BackgroundIndexer."""

    # the second pass runs after indexing (`snapseek index`, and the app when indexing is
    # idle); SNAPSEEK_NO_FACES=1 or faces_enabled = False turns finding faces off, and
    # SNAPSEEK_NO_TEXT=1 or text_enabled = False reading text in photos (core/text/ocr.py)
    faces_enabled = os.environ.get("SNAPSEEK_NO_FACES", "") in ("", "0")
    text_enabled = os.environ.get("SNAPSEEK_NO_TEXT", "") in ("", "0")

    def __init__(self, catalog, thumbs: Path, models, vectors, in_flight, *, emit: Callable,
                 writing: Callable[[], AbstractContextManager], watcher: Callable):
        self.catalog, self.thumbs, self.models, self.vectors = catalog, thumbs, models, vectors
        self.in_flight = in_flight
        self.emit, self.writing, self._watcher = emit, writing, watcher
        self.young: list[int] = []  # what the last pass left pending, half-copied maybe
        self.background = None  # a BackgroundIndexer while watching
        self._watch_hold: ExitStack | None = None  # the writer lock, held while watching
        self._children = False  # the second pass started its children (end_children)
        self._forget_missing: set[int] = set()  # folders whose gone photos may go

    # -- folders -------------------------------------------------------------
    def add_folder(self, path: str | Path) -> Folder:
        with self.writing():
            try:  # a share whose server is gone would hold the caller for ever
                real, is_folder = drives.within(
                    lambda: (normalise(path), os.path.isdir(normalise(path))),
                    Presence.ASK_WITHIN_S, str(path))
            except drives.NotAnswering as exc:
                raise SnapseekError(f"{path} is not answering (a network share whose server "
                                    "is gone?); add it when it answers.") from exc
            if not is_folder:
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

    def _folder_named(self, path: str | Path) -> tuple[int, str]:
        """(id, stored path) of the watched folder a person names, links and all. Its links
        are read with the scans' time limit: a share that does not answer is named by the
        path as given, and said in one line when that is not the catalog's."""
        def known(spelling: str) -> tuple[int, str] | None:
            folder_id = self.catalog.folder_id(spelling)
            return None if folder_id is None else (folder_id, spelling)

        found, answered = drives.known_as(path, known, Presence.ASK_WITHIN_S)
        if found is not None:
            return found
        if not answered:
            raise SnapseekError(f"{path} is not answering (a network share whose server is "
                                "gone?); ask again when it answers.")
        raise SnapseekError(f"{path} is not a folder of this library.")

    def remove_folder(self, path: str | Path) -> int:
        with self.writing():
            folder_id, real = self._folder_named(path)
            if self.background is not None:
                self.background.unwatch(real)
            ids = self.catalog.remove_folder(folder_id)
            remove_thumbnails(self.thumbs, ids)  # a forgotten photo leaves no copy behind
            index = self.vectors.loaded
            if index is not None:
                index.remove(ids)
                index.save(self.catalog)
            return len(ids)

    def folders(self) -> list[Folder]:
        return self.catalog.folders()

    # -- lifetime ------------------------------------------------------------
    def set_folder_paused(self, path: str, paused: bool) -> None:
        with self.writing():
            folder_id, real = self._folder_named(path)
            self.catalog.set_folder_paused(folder_id, paused)
            if self.background is not None and not paused:
                self.background.queue.add(real, now=True)

    # -- indexing ------------------------------------------------------------
    @staticmethod
    def _folder_of(path: str, folders: list[tuple[int, str]]) -> int | None:
        """The id of the watched folder a path lies in, if any."""
        for folder_id, root in folders:
            if inside(path, root):
                return folder_id
        return None

    def scan(self, on_progress: Callable[[Progress], None] | None = None,
             paths: list[str] | None = None, forget_missing: bool = False) -> ScanChanges:
        """Stat-only sweep of every folder (or just `paths` in them); follows renames, copies
        and deletions in the index. A folder whose drive is away is left as it is; one that
        would lose most of its photos at once keeps them unless `forget_missing` (or
        forget_missing() named it)."""
        with self.writing():
            notify = on_progress or self.emit
            records = [f for f in self.catalog.folder_drives() if not f.paused]
            if paths is not None:  # only the folders these paths lie in are looked at
                records = [f for f in records if any(inside(p, f.path) for p in paths)]
            presence = Presence(self.catalog, self.emit)
            verdicts = {v.folder.id: v for v in presence.check(records)}
            folders = [(i, v.path) for i, v in verdicts.items() if v.away is None]
            only = None
            if paths is not None:
                only = {}
                for path in paths:
                    folder_id = self._folder_of(path, folders)
                    if folder_id is not None:
                        only.setdefault(folder_id, []).append(path)
            forget = True if forget_missing else set(self._forget_missing)
            changes = Scanner(self.catalog).scan(
                folders, on_found=lambda n: notify(Progress(State.SCANNING, found=n)), only=only,
                forget=forget)
            if only is None:
                self._forget_missing.difference_update(i for i, _ in folders)
            for folder_id in changes.not_answering:
                verdicts[folder_id] = presence.not_answering(verdicts[folder_id].folder)
            changes.report.away = [v.as_away() for v in verdicts.values() if v.away is not None]
            changes.moved_folders = [(v.folder.path, v.path) for v in verdicts.values() if v.moved]
            for held in changes.report.held:
                self.emit(held)
            for where, why in changes.unreadable:
                self.emit(Notice(Level.WARNING, f"{where}: {why}"))
            # deleted photos leave no copy behind; changed ones get new thumbnails when re-embedded
            remove_thumbnails(self.thumbs, changes.removed_ids)
            if self.vectors.loaded is not None or changes.removed_ids or changes.copied_ids:
                index = self.vectors.index()
                index.remove(changes.removed_ids)
                if changes.copied_ids:
                    ids, vecs, _ = self.catalog.vectors(index.model_id, ids=changes.copied_ids)
                    index.add(ids, vecs)
                if changes.removed_ids or changes.copied_ids:
                    index.seq = self.catalog.max_seq(index.model_id)
                    index.save(self.catalog)
            self.vectors.forget_standin()
            return changes

    def index_pending(self, on_progress: Callable[[Progress], None] | None = None,
                      retry_young_s: float = 0.0) -> tuple[int, int, bool]:
        """Embed every photo that has no vector for this library's model yet.

        With retry_young_s, files that fail to decode but changed in the last seconds stay
        pending (they may be half-copied); `young` lists them afterwards.
        """
        with self.writing():
            emb, index = self.models.embedder, self.vectors.index()
            items = self.catalog.pending(emb.model_id)
            pipeline = IndexingPipeline(self.catalog, emb, index, self.thumbs,
                                        retry_young_s=retry_young_s)
            try:
                with self.in_flight.running(pipeline):
                    result = pipeline.run(items, on_progress or self.emit)
                self.update_places()  # cheap, offline: GPS to place names with pass 1
                return result
            finally:
                self.young = pipeline.young
                self.vectors.forget_standin()

    def update_places(self) -> int:
        """Look up the place of every photo with a GPS position that has none yet (offline,
        a few microseconds each once the cities are loaded); returns how many."""
        from core.media.places import locate

        done = 0
        while missing := self.catalog.places_missing():
            self.catalog.store_places([(m, locate(lat, lon)) for m, lat, lon in missing])
            done += len(missing)
        return done

    def forget_missing(self, path: str) -> None:
        """The photos gone from a folder that is on its drive are forgotten at its next sweep
        (a scan kept them: most of the folder's photos went at once). Now when nothing
        watches; else the watcher's next reconcile, asked for now."""
        with self.writing():
            folder_id, _ = self._folder_named(path)
            self._forget_missing.add(folder_id)
            if self.background is not None:
                self.background.reconcile()
            else:
                self.scan()

    def update(self, on_progress: Callable[[Progress], None] | None = None,
               forget_missing: bool = False) -> IndexReport:
        """Scan all folders, then embed what is new: what `snapseek index` does."""
        started = time.monotonic()
        self.models.begin_switch()  # another model asked for: re-embed beside the library's model
        self.models.load_model()  # fail before touching anything when the model is unavailable
        with self.writing():
            self.models.remember_model()
            changes = self.scan(on_progress, forget_missing=forget_missing)
            embedded, failed, cancelled = self.index_pending(on_progress)
            if self.models.switch_target and not cancelled:
                self.models.run_switch(on_progress=on_progress)
            return IndexReport(changes.report, embedded, failed, time.monotonic() - started, cancelled)

    # -- watching ------------------------------------------------------------
    def start_watching(self, settle: float = 1.0, reconcile_every: float | None = None,
                       **options) -> None:
        """Reconcile, then keep every folder indexed in the background until stop()."""
        if self.background is not None:
            return
        hold = ExitStack()  # the writer lock, held while watching (LibraryBusy when taken)
        hold.enter_context(self.writing())
        self._watch_hold = hold
        if reconcile_every is None:
            reconcile_every = float(self.catalog.get_meta("reconcile_every", "1800"))
        self.background = self._watcher(settle=settle, reconcile_every=reconcile_every,
                                        **options)
        self.background.start()

    def stop(self) -> None:
        """Stop background work cleanly: the batch in flight finishes, the index is saved."""
        if self.background is not None:
            self.background.stop()
            self.background = None
        hold, self._watch_hold = self._watch_hold, None
        if hold is not None:
            hold.close()

    def end_children(self) -> None:
        """The second pass's children (faces, text) and their models' memory go with the
        library, where its second pass started them."""
        if self._children:
            from core.people import faceworker
            from core.text import textworker

            faceworker.stop()
            textworker.stop()
            self._children = False

    def _enrichers(self) -> list:
        from core.people.faces import FaceModelsMissing
        from core.people.faceworker import FaceEnricherApart
        from core.people.names import NamesEnricher
        from core.text.textworker import TextEnricherApart

        enrichers, reader = [], None
        self._children = True  # end_children() ends what starts here
        try:
            if self.text_enabled:  # its child starts while the faces child does
                reader = TextEnricherApart()
                text_ready = reader.starting()
            if self.faces_enabled:
                enricher = FaceEnricherApart(self.thumbs)
                try:
                    enricher.load()
                except (FaceModelsMissing, RuntimeError, OSError) as exc:
                    raise SnapseekError(f"Faces cannot be found: {exc}") from exc
                enrichers += [enricher, NamesEnricher()]  # names the files give faces too
            if reader is not None:
                try:
                    text_ready()
                except (ImportError, RuntimeError, OSError) as exc:
                    raise SnapseekError(f"Text in photos cannot be read: {exc}") from exc
                enrichers.append(reader)
        except BaseException:
            self.end_children()  # the one that started is not kept for a pass that never runs
            raise
        return enrichers

    def enricher_versions(self) -> dict[str, int]:
        from core.people import names
        from core.people.faces import ENRICHER, FaceEnricher
        from core.text.ocr import TextReader

        # each enricher's own version, the one the pass records (a new one runs again)
        return {**({ENRICHER: FaceEnricher.version, names.ENRICHER: names.VERSION}
                   if self.faces_enabled
                   else {}),
                **({"text": TextReader.VERSION} if self.text_enabled else {})}

    def enrich_pending(self) -> int:
        """How many indexed photos the second pass has still to look at."""
        versions = self.enricher_versions()
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
        from core.folders.enrich import EnrichPass
        from core.people.clustering import FaceClustering

        with self.writing():
            if not self.enrich_pending():  # its models start only for a photo to look at
                return 0, 0, False
            work = EnrichPass(self.catalog, self.thumbs, self._enrichers(),
                              after_batch=FaceClustering(self.catalog).update)
            return work.run(should_stop or (lambda: False), on_progress or self.emit, limit)
