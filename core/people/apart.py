"""Faces that are never one person: two faces of one photo (twins, look-alikes, the same person
found twice in a group photo), and faces the user said apart ("not this person").

The user's word is kept of faces, not of a person's id (store/people.py `faces_apart`): one
rejection is a set with two sides, the faces said not to be someone and the faces that person
held then, and no face of one side is ever one person with a face of the other, whatever ids
the people get after a re-sorting. Clustering asks `allows` before a face joins a person or a
group, and says `hold` once it has.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping


class Apart:
    """Who holds which photos and rejection sides, as faces are handed out."""

    def __init__(self, media: Mapping[int, Hashable],
                 marks: Mapping[int, set[tuple[int, int]] | frozenset[tuple[int, int]]]):
        self.media = media  # face → its picture (a photo, or a video's moment)
        self.marks = marks  # face → {(rejection, side)}
        self._photos: dict[Hashable, set[Hashable]] = {}
        self._sides: dict[Hashable, set[tuple[int, int]]] = {}

    def allows(self, owner: Hashable, face_id: int) -> bool:
        """Whether the face may join `owner` (a person, or a group being formed)."""
        photo = self.media.get(face_id)
        if photo is not None and photo in self._photos.get(owner, ()):
            return False
        mine = self.marks.get(face_id)
        if mine:
            held = self._sides.get(owner)
            if held and any((rejection, 1 - side) in held for rejection, side in mine):
                return False
        return True

    def hold(self, owner: Hashable, face_id: int, photo: Hashable | None = None) -> None:
        """`owner` holds this face (and its picture; `photo` for a face not in `media`)."""
        photo = self.media.get(face_id, photo)
        if photo is not None:
            self._photos.setdefault(owner, set()).add(photo)
        mine = self.marks.get(face_id)
        if mine:
            self._sides.setdefault(owner, set()).update(mine)
