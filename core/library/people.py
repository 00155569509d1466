"""People in the library: listing them and their photos and faces, naming, hiding, merging,
"not this person", and sorting faces into people again."""

from __future__ import annotations

from pathlib import Path

from ..types import SearchResult, SnapseekError


class PeopleOps:
    """Library's part that answers about people (core/people.py sorts faces into them)."""

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
        from ..faces import crop_path

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
        from ..people import People

        with self.writing():
            return People(self.catalog).recluster()

    def check_persons(self, names) -> None:
        self.ranker.check_persons(names)

    def person_names(self) -> list[str]:
        """The names given to people, for reading them out of a typed query."""
        return self.catalog.person_names()
