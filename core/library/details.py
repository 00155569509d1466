"""What the library knows of a photo and why it matched: text read in it, its details and
thumbnail, the words and chips a query met, where in the picture (explain), places, status."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PIL import Image

from core.media.imaging import ImageError, is_video, open_image
from core.media.thumbnails import THUMB_SIZE, save_thumbnail, thumb_path
from core.model.offered import spec_of
from core.query.filters import PeopleRule
from core.query.who import chips as people_chips
from core.search.scoring import split_names
from core.types import Away, Query, SearchResult, SnapseekError


class PhotoDetails:
    """The library's part that answers about photos. It keeps no state of its own: it asks the
    catalog, the model part (`models`: the model, which one, answers by one model), the vectors
    (the index file's health) and the ranker, and makes thumbnails in `thumbs`."""

    def __init__(self, catalog, home: Path, thumbs: Path, models, vectors, ranker,
                 emit: Callable):
        self.catalog, self.home, self.thumbs = catalog, home, thumbs
        self.models, self.vectors, self.ranker, self.emit = models, vectors, ranker, emit

    # -- what a photo knows, and why it matched ------------------------------------
    def photo_text(self, media_id: int) -> list[str]:
        """The lines of text read in a photo by the second pass."""
        return self.catalog.photo_text(media_id)

    def media_id_of(self, path: str) -> int | None:
        """The media id of a file given as a person gives it (links and all), or None. Its
        links are read with the scans' time limit: on a share that does not answer, a path
        the catalog does not hold as given is said in one line (SnapseekError)."""
        from core.folders.drives import known_as
        from core.folders.presence import Presence

        media_id, answered = known_as(path, self.catalog.media_id_of, Presence.ASK_WITHIN_S)
        if media_id is not None:
            return media_id
        if not answered:
            raise SnapseekError(f"{path} is not answering (a network share whose server is "
                                "gone?); ask again when it answers.")
        return None

    def about(self, path: str) -> dict:
        """What the library knows of a file beyond its own metadata: text read, people, and
        each face: its box (fractions of the upright picture: x1, y1, x2, y2), the detector's
        score, its person (name, or id when unnamed; None), whether it can be told apart."""
        media_id = self.media_id_of(path)
        if media_id is None:
            return {"text": [], "people": [], "faces": []}
        return {"text": self.catalog.photo_text(media_id),
                "people": self.catalog.people_in(media_id),
                "faces": [{"box": [round(v, 4) for v in f.box], "score": f.score,
                           "person": f.name or f.person_id, "recognisable": f.sortable,
                           "frame": f.frame} for f in self.catalog.face_boxes(media_id)]}

    def why(self, media_id: int, query: Query) -> dict:
        """Which typed words a photo holds, and where (text in the picture, name, place,
        keywords or caption), and which chips (date, place, people, filters) it satisfies."""
        from core.words import fold

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
        chips += [f"any person: {p}" for p in query.persons_any]
        chips += [f"not person: {p}" for p in query.persons_not]
        chips += [f"only person: {p}" for p in query.persons_only]
        chips += [f"people: {label}" for label, _ in people_chips(query.who)]
        for name, on in (("kind", query.kinds), ("camera", query.camera),
                         ("folder", query.folder)):
            if on:
                chips.append(name)
        rule = PeopleRule.of(query)
        people = rule.matched(self.catalog.faces_seen([media_id])[media_id]) if rule else ()
        return {"words": found, "chips": chips, "people": list(people)}

    def explain(self, path_or_id, query: Query, across: int = 6) -> dict:
        """Why a photo matches: {"score", "words", "chips", "grid"}; grid is where in the
        picture the query matched (occlusion, core/search/explain.py), rows top first."""
        return self.models.answer(lambda: self._explain(path_or_id, query, across))

    def _explain(self, path_or_id, query: Query, across: int) -> dict:
        from core.search.explain import occlusion_map

        media_id = (path_or_id if isinstance(path_or_id, int)
                    else self.media_id_of(path_or_id))
        if media_id is None:
            raise SnapseekError(f"{path_or_id} is not in this library (add its folder first).")
        if query.is_empty() and query.has_filters():  # "Anna and Ben": nothing to score
            why = self.why(media_id, query)
            return {"score": None, "words": why["words"], "chips": why["chips"],
                    "people": why["people"], "grid": []}
        row = self.catalog.media_by_id(media_id)
        emb = self.models.embedder
        vector = self.ranker.query_vector(replace(query, k=1))
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
                "people": why["people"], "grid": [[round(float(v), 3) for v in r] for r in grid]}

    # -- places ----------------------------------------------------------------
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
        from core.media.places import Place, known_names

        return known_names([Place(*row[:4], "") for row in self.catalog.places()])

    def duplicates(self, threshold: float = 0.95, neighbours: int = 8) -> list[list[SearchResult]]:
        """Groups of near-duplicate photos, largest first (Ranker.duplicates)."""
        return self.models.answer(lambda: self.ranker.duplicates(threshold, neighbours))

    # -- status --------------------------------------------------------------
    def status(self) -> dict:
        """Counts, folders (and the drives away), model and index health, without loading the
        model."""
        away = self.away()
        stored = self.catalog.get_meta("model")
        model_ids = [h for h in self._model_ids() if spec_of(h) == self.models.model_spec]
        model_id = self.models.loaded_model_id or (model_ids[0] if model_ids else None)
        header = self.catalog.index_header(model_id) if model_id else None
        indexed = self.catalog.vector_count(model_id) if model_id else 0
        # photos whose drive is away and that lack the model's vector (a switch flipped
        # without them): they get it when their drive is back
        waiting = self.catalog.lacking_vectors(model_id or "", [
            f.id for f in self.catalog.folder_drives() if f.path in away])
        if header is None:
            health = "missing (rebuilt on next search)" if indexed else "empty"
        else:
            path = self.vectors.path(model_id)
            ok = path.exists() and path.stat().st_size == header.file_size
            health = (f"ok ({header.count} vectors, generation {header.generation})" if ok
                      else "damaged (rebuilt on next search)")
        return {
            "home": str(self.home),
            "model": self.models.model_spec,
            "library_model": stored,
            "switching_to": self.models.switch_target,
            "media_count": self.catalog.media_count(),
            "indexed_count": indexed,
            "waiting_for_drive": waiting,
            "error_count": self.catalog.error_count(),
            "index": health,
            "folders": [
                {"path": f.path, "media_count": f.media_count, "errors": f.error_count,
                 "paused": f.paused, "drive": f.drive,
                 "away": away[f.path].line() if f.path in away else None}
                for f in self.catalog.folders()
            ],
            "away": [a.to_json() for a in away.values()],
        }

    def away(self) -> dict[str, Away]:
        """The folders whose drive is away now (folder → Away), looked at now: a drive
        unplugged since the last scan is said too. Writes nothing."""
        from core.folders.presence import NOT_ANSWERING, Presence, Verdict

        folders = [f for f in self.catalog.folder_drives() if not f.paused]
        return {v.folder.path: v.as_away() for v in Presence(self.catalog, self.emit).judge(folders)
                if v.away is not None} | {  # a walk that stopped hearing: until one finishes
            f.path: Verdict(f, f.path, None, f.away).as_away() for f in folders
            if f.away == NOT_ANSWERING}

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
        if row is None or self.catalog.folder_away(row.folder_id):
            return None  # forgotten, or on a drive that is away (it may not answer)
        try:
            if is_video(row.path):
                from core.media.video import open_video

                image = open_video(row.path, THUMB_SIZE, max_frames=1).images[0]
            else:
                image = open_image(row.path, THUMB_SIZE).image
            save_thumbnail(image, path)
        except (ImageError, OSError):
            return None
        # forgotten while it was decoded: the forgetting removed the files before this one was
        # written, so this one goes too (nothing of a forgotten photo stays in the home)
        if self.catalog.media_by_id(media_id) is None:
            path.unlink(missing_ok=True)
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

    def recent(self, k: int = 500) -> list[SearchResult]:
        """The newest photos, for the window before any query."""
        return self.ranker.results(self.catalog.recent(k))
