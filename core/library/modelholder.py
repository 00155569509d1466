"""The library's model: loaded once (light, from its exported towers, where it can be), the
switch to another model made beside it, and answers given by one model from start to end,
even when a switch flips in another process while they are given."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar

from core.model.embedder import Embedder, check_device
from core.model.offered import DEFAULT_MODEL, ModelSpec, dim_of, display_name, spec_of
from core.osutil import give_back_memory
from core.rwlock import RWLock
from core.search.vectorstore import index_file
from core.types import Level, ModelMismatch, Notice, Progress

log = logging.getLogger(__name__)
T = TypeVar("T")


class ModelHolder:
    """The library's part that owns the model: which one (its spec, and a switch's target),
    the loaded one and the lock it loads under, the torch model lighten() let go, and the
    switch to another model (core/library/switch.py does the work).

    The vectors and the ranker ask it for the model; it tells them, through the callables it
    is given, when the model changes: `wait_index` (a rebuild in progress finishes first),
    `drop_index` (the index and what was kept of the old model's vectors go) and
    `take_index(index)` (a switch's index answers from now on). A switch embeds with the
    thumbnail folder `thumbs`, its pipeline held by `running` (pause and cancel reach it)."""

    def __init__(self, catalog, home: Path, model: str | None, device: str,
                 threads: int | None, allow_download: bool, *, emit: Callable,
                 writing: Callable[[], AbstractContextManager], thumbs: Path,
                 running: Callable, wait_index: Callable[[], None],
                 drop_index: Callable[[], None], take_index: Callable[[object], None]):
        self.catalog, self.home, self.emit, self.writing = catalog, home, emit, writing
        self.device, self.threads, self.allow_download = device, threads, allow_download
        self._thumbs, self._running = thumbs, running
        self._wait_index, self._drop_index, self._take_index = wait_index, drop_index, take_index
        stored = catalog.get_meta("model")
        self.model_spec = ModelSpec.parse(model).text if model else (stored or DEFAULT_MODEL)
        self._embedder: Embedder | None = None  # loaded when first asked for (embedder)
        self._heavy = None  # weakref to a whole model lighten() could not let go
        self.load_lock = threading.RLock()  # the model and the index load under one lock
        # switching models: the model asked for, the switch's target (kept in the catalog's
        # meta), the switch, and the lock that lets the flip wait for answers in flight
        self._model_asked = self.model_spec if model else None
        # opened without naming a model: it answers with the library's model, whichever that
        # is when it answers (a switch may flip in another process while it is open)
        self._follows = model is None
        self._seen_model = self._library_model()  # (model, model id) as the catalog says
        self.switch_target = catalog.get_meta("switching_to") or None
        self._switch = None
        self._switch_lock = RWLock()

    # -- model and index -----------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self.load_lock:
            if self._embedder is None:
                self._embedder = self.load_embedder()
            return self._embedder

    def load_embedder(self, spec: str | None = None, light: bool = True) -> Embedder:
        """A model for this library (its own, or `spec` for a switch) on its device, its towers
        on the faster runtime kept in the home; `light` False: the whole torch model, never
        the exported towers alone. The one way the library loads a model."""
        check_device(self.device)
        return Embedder.load(spec or self.model_spec, self.device, self.threads,
                             self.allow_download,
                             on_status=lambda text: self.emit(Notice(Level.INFO, text)),
                             runtime_cache=self.home / "runtime", light=light,
                             on_progress=self.emit)

    def load_model(self) -> Embedder:
        """Load the model now (downloading it if needed); raises ModelUnavailable."""
        return self.embedder

    def lighten(self) -> bool:
        """Let the whole torch model go once its towers answer from the exported runtime.

        A first run loads the model whole (torch) to export both towers (core/model/exported.py);
        every later run starts light. Without this, a first session would keep the torch
        model (about 1.8 GB with the default) for as long as the app runs. Called by the
        background indexer when it has nothing left to do; True when the model was swapped."""
        import gc

        from core.model.exported import LightEmbedder, open_light
        from core.model.light import rebuild

        with self.load_lock:
            emb = self._embedder
            if isinstance(emb, LightEmbedder) and not emb.full_loaded:
                emb.rest()  # idle: the image tower (the larger) is compiled again when needed
            # (a light one that had to load the full model for a tower that fell back lets it
            # go too, once the towers are exported afresh; one that could not be: not again)
            if emb is None or (isinstance(emb, LightEmbedder)
                               and not (emb.full_loaded and emb.exported_again)) \
                    or self._switch is not None \
                    or getattr(emb, "_fast_image", None) is None or emb.runtime_cache is None \
                    or (self._heavy is not None and self._heavy() is emb):
                return False
            self._heavy = weakref.ref(emb)  # tried once per loaded model (kept weakly)
            light = open_light(emb.spec, emb.runtime_cache, self.threads,
                               lambda: self.load_embedder(light=False), rebuild)
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

    @property
    def loaded_model_id(self) -> str | None:
        """The loaded model's id (None: no model loaded; nothing is loaded to say it)."""
        emb = self._embedder
        return emb.model_id if emb is not None else None

    def index_path(self, model_id: str) -> Path:
        """The index file of a model's vectors in the home."""
        return index_file(self.home, model_id)

    def remember_model(self) -> None:
        """Make the loaded model this library's model (after it loaded successfully)."""
        self.catalog.set_meta("model", self.embedder.spec)
        self.catalog.set_meta("model_id", self.embedder.model_id)
        self._seen_model = (self.embedder.spec, self.embedder.model_id)

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

    # -- answers by one model ------------------------------------------------------------
    def answer(self, ask: Callable[[], T]) -> T:
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

    def _library_model(self) -> tuple[str | None, str | None]:
        return self.catalog.get_meta("model"), self.catalog.get_meta("model_id")

    def _moved_on(self) -> bool:
        """Whether the library's model changed in the catalog since this reader last saw it
        (a switch flipped in another process while it answered)."""
        if not self._follows or self._embedder is None:
            return False
        current = self.catalog.get_meta("model_id")
        return bool(current) and current != self._seen_model[1]

    def _follow_the_library(self) -> None:
        """A reader following the library loads its model anew once the library's model
        changed in the catalog. Only a change counts: a model this process chose itself (a
        new library taking the model picked in Settings) is not undone by the stored one."""
        if not self._follows or self._switch is not None:  # (this process's own switch flips
            return                                          # its fields itself)
        stored = self._library_model()
        if stored[0] and stored[0] != self._seen_model[0]:
            log.info("the library's model is %s now (switched in another process)", stored[0])
            self._unload(stored[0])
            self.switch_target = self.catalog.get_meta("switching_to") or None
        self._seen_model = stored

    # -- switching models (core/library/switch.py) -------------------------------------
    def _switch_for(self, target: str):
        from core.library.switch import ModelSwitch

        if self._switch is None or self._switch.target != target:
            keep = self._embedder if self._embedder and self._embedder.spec == target else None
            self._switch = ModelSwitch(self, target, keep, self._thumbs, self._running)
        return self._switch

    def _model_ids_of(self, spec: str) -> list[str]:
        return [m for m in self.catalog.model_ids() if spec_of(m) == spec]

    def _unload(self, spec: str | None = None) -> None:
        """Forget the loaded model and index (another model is to answer): `spec`, made the
        model under the same locks, so that no search loads the old one in between."""
        self._wait_index()
        with self._switch_lock.write(), self.load_lock:
            self._embedder = None
            self._drop_index()
            if spec is not None:
                self.model_spec = spec

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
                    self._unload(spec)
                return None
            if self.model_spec != stored:
                self._switch_for(spec)  # keeps the target's model when it is loaded already
                self._unload(stored)
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
            path = self.index_path(model_id)
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
                path = self.index_path(model_id)
                if path.exists():
                    freed += path.stat().st_size
                    path.unlink()
        return freed

    @contextmanager
    def flipping(self):
        """Held while a switch makes its model the library's: no answer is in flight."""
        with self._switch_lock.write(), self.load_lock:
            yield

    def activate(self, embedder: Embedder, index) -> None:
        """The switch's flip (inside flipping()): this model and index answer from now on."""
        self._embedder, self.model_spec = embedder, embedder.spec
        self._seen_model = (embedder.spec, embedder.model_id)
        self._take_index(index)
        self.switch_target, self._switch = None, None
