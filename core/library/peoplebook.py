"""People in the library: listing them and their photos and faces, naming, hiding, merging,
"not this person" and moving faces (one or many at once), sorting faces into people again, and
the names the photos' files give, confirmed once per name."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from core.search.ranking import Ranker
from core.store import Catalog
from core.types import SearchResult, SnapseekError


class PeopleBook:
    """The library's part that answers about people (core/people/clustering.py sorts faces into
    them). It holds what it is given and nothing else: the catalog, the ranker (photos as
    results), the thumbnail folder (face crops) and the library's writer lock, taken for every
    change."""

    def __init__(self, catalog: Catalog, ranker: Ranker, thumbs: Path,
                 writing: Callable[[], AbstractContextManager]):
        self.catalog = catalog
        self.ranker = ranker
        self.thumbs = thumbs
        self.writing = writing

    def people(self, hidden: bool = False) -> list:
        """People (catalog.PersonRow: id, name, hidden, photos, faces), most photos first:
        those named, and those seen in enough photos to be sure (suggestions apart)."""
        from core.people.clustering import MIN_PHOTOS

        return self.catalog.people(hidden, MIN_PHOTOS)

    def suggestions(self) -> list:
        """Unnamed people seen in too few photos to be sure ("Seen in 2 photos"): naming one
        makes them a person (catalog.PersonRow)."""
        from core.people.clustering import MIN_PHOTOS

        return self.catalog.suggestions(MIN_PHOTOS)

    def file_suggestions(self, hidden: bool = False) -> list:
        """The names the photos' files give (XMP face regions) not confirmed yet, most photos
        first (catalog.FileNameRow; `hidden`: those said no to, too). Each stands for a person
        with no name: `name_person` with it confirms the name, `hide_person` says no."""
        return self.catalog.file_suggestions(hidden)

    def person_photos(self, person_id: int, k: int = 1000) -> list[SearchResult]:
        """A person's photos, newest first (a name from the files not confirmed yet: the
        photos whose files give it)."""
        if self.catalog.file_name_of(person_id) is not None:
            return self.ranker.results(self.catalog.file_name_media(person_id, k))
        return self.ranker.results(self.catalog.person_media(person_id, k))

    def person_faces(self, person_id: int | None, k: int = 200) -> list:
        """A person's faces (catalog.FaceRow), best first; None: unsorted faces; a name from
        the files not confirmed yet: the faces found where the files give it."""
        if person_id is not None and self.catalog.file_name_of(person_id) is not None:
            return [self.catalog.face(f) for f in self.catalog.file_name_faces(person_id, k)]
        return self.catalog.person_faces(person_id, k)

    def unsorted_count(self) -> int:
        """How many faces sorting left in no one (those `person_faces(None)` lists)."""
        return self.catalog.unsorted_count()

    def faces_in(self, media_id: int) -> list:
        """The faces of one photo (catalog.FaceRow), for a preview."""
        return self.catalog.media_faces(media_id)

    def face_crop(self, face) -> Path | None:
        """The crop of a face (a catalog.FaceRow), when it was kept."""
        from core.people.faces import crop_path

        path = crop_path(self.thumbs, face.media_id, face.frame, face.idx)
        return path if path.exists() else None

    def face_paths(self, faces) -> dict[int, str]:
        """The paths of the photos these faces (catalog.FaceRow) are in, by media id."""
        return {r.media_id: r.path for r in self.ranker.results(
            list(dict.fromkeys(f.media_id for f in faces)))}

    def person(self, person_id: int):
        """One person (catalog.PersonRow), or one clear line when there is none."""
        return self._person(person_id)

    def _person(self, person_id: int):
        person = self.catalog.person(person_id)
        if person is None:
            raise SnapseekError(f"There is no person {person_id} (see `snapseek people`).")
        return person

    def name_person(self, person_id: int, name: str) -> int:
        """Name a person (an empty name clears it); their faces are confirmed as theirs. A
        name from the files is confirmed so, as `name` (its faces join the person of that name
        when there is one). Returns the person."""
        with self.writing():
            self._person(person_id)
            if self.catalog.file_name_of(person_id) is not None:
                if not name.strip():
                    raise SnapseekError("A name is needed to confirm a name from the files.")
                return self.catalog.confirm_file_name(person_id, name)
            self.catalog.rename_person(person_id, name.strip() or None)
            return person_id

    def confirm_file_name(self, person_id: int) -> int:
        """The name the files give is right, as they spell it. Returns its person."""
        name = self.catalog.file_name_of(person_id)
        if name is None:
            self._person(person_id)
            raise SnapseekError(f"Person {person_id} is no name from the files to confirm.")
        return self.name_person(person_id, name)

    def hide_person(self, person_id: int, hidden: bool = True) -> None:
        with self.writing():
            self._person(person_id)
            self.catalog.hide_person(person_id, hidden)

    def merge_people(self, keep: int, gone: int) -> None:
        """`gone` is the same person as `keep`: one person, with both their faces."""
        if keep == gone:
            raise SnapseekError("A person cannot be merged with themselves.")
        with self.writing():
            people = {p: self._person(p) for p in (keep, gone)}
            named = {p: self.catalog.file_name_of(p) for p in (keep, gone)}
            if named[gone] is not None or named[keep] is not None:
                # a name from the files said to be someone: confirmed as theirs
                suggestion = gone if named[gone] is not None else keep
                other = keep if suggestion == gone else gone
                self.catalog.confirm_file_name(
                    suggestion, people[other].name or named[other] or named[suggestion],
                    into=other)
                return
            self.catalog.merge_people(keep, gone)

    def _face(self, face_id: int):
        face = self.catalog.face(face_id)
        if face is None:
            raise SnapseekError(f"There is no face {face_id} (see `snapseek people faces ID`).")
        return face

    def not_this_person(self, face_id: int, person_id: int | None = None) -> int | None:
        """A face is not of the person it was sorted into (`person_id`, when given, must be
        that person): it leaves, for good; no re-sorting puts it back. Returns that person."""
        with self.writing():
            face = self._face(face_id)
            if person_id is not None and face.person_id != person_id:
                self._person(person_id)
                raise SnapseekError(f"Face {face_id} is not in person {person_id}.")
            return self.catalog.face_not_person(face_id)

    def move_face(self, face_id: int, person_id: int) -> int | None:
        """A face is this person's: it moves there for good, and never back to the person it
        was in. Returns that person (None: it was in no one)."""
        with self.writing():
            self._face(face_id)
            self._person(person_id)
            return self.catalog.move_face(face_id, person_id)

    def move_faces(self, face_ids: list[int], person_id: int) -> None:
        """Several faces are this person's (`move_face` for each), in one change."""
        with self.writing():
            self._faces(face_ids)
            self._person(person_id)
            self._one_a_photo(face_ids, f"person {person_id}")
            self.catalog.move_faces(face_ids, person_id)

    def name_faces(self, face_ids: list[int], name: str) -> int:
        """Several faces are the person called `name`: they move to the person of that name,
        who is made when no one has it yet. Returns that person."""
        if not name.strip():
            raise SnapseekError("A name is needed to say whose faces these are.")
        with self.writing():
            self._faces(face_ids)
            self._one_a_photo(face_ids, name.strip())
            return self.catalog.move_faces_to_name(face_ids, name)

    def reject_faces(self, face_ids: list[int], person_id: int | None = None) -> set[int]:
        """"Not this person" for several faces at once, each leaving its own person for good
        (`person_id`, when given, must be the person of each). Returns the people they left."""
        with self.writing():
            faces = self._faces(face_ids)
            if person_id is not None:
                self._person(person_id)
                for face in faces:
                    if face.person_id != person_id:
                        raise SnapseekError(f"Face {face.id} is not in person {person_id}.")
            return set(self.catalog.faces_not_person(face_ids).values())

    def _faces(self, face_ids: list[int]) -> list:
        # all or none: one face gone since the view showed it stops the whole change
        return [self._face(face_id) for face_id in face_ids]

    def _one_a_photo(self, face_ids: list[int], who: str) -> None:
        """Two faces of one photo are never one person: asked to be, nothing changes."""
        for a, b in self.catalog.faces_in_one_photo(face_ids)[:1]:
            raise SnapseekError(f"Faces {a} and {b} are two faces of one photo: they cannot "
                                f"both be {who}.")

    def photos_with_people(self, person_ids: list[int]) -> int:
        """How many photos hold at least one of these people, a group photo once."""
        return self.catalog.photos_with_people(person_ids)

    def recluster(self) -> dict:
        """Sort every face into people again, keeping names and corrections."""
        from core.people.clustering import FaceClustering

        with self.writing():
            return FaceClustering(self.catalog).recluster()

    def person_names(self) -> list[str]:
        """The names given to people, for reading them out of a typed query."""
        return self.catalog.person_names()
