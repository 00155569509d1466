"""People: the faces the second pass finds and the people they make (the user's corrections are
corrections.py's; the names the photos' files give, names.py's)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from core.query.filters import FaceSeen, person_named, person_number
from core.store.db import Connections


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str | None
    hidden: bool
    photos: int
    faces: int


@dataclass(frozen=True)
class FaceRow:
    id: int
    media_id: int
    frame: int
    idx: int
    quality: float
    person_id: int | None


@dataclass(frozen=True)
class FaceBox:
    """A face where it is in its picture, and whose it is."""

    frame: int  # a video's moment; 0 for a photo
    box: tuple[float, float, float, float]  # left, top, right, bottom: fractions, upright
    score: float | None  # the detector's (None: found before scores were kept)
    sortable: bool  # large and sharp enough to be told apart
    person_id: int | None
    name: str | None  # its person's


class People(Connections):
    """Faces and the people they are sorted into."""

    def _write_faces(self, w: sqlite_utils.Database, media_id: int, faces: list) -> None:
        """Replace a photo's faces. A face found again at the same place (boxes overlapping by
        half) keeps its id, person and the user's corrections. The names the photo's files
        give then name the faces found (names.py), whose own faces are not found ones."""
        old = w.execute("SELECT id, frame, box_left, box_top, box_right, box_bottom FROM faces "
                        "WHERE media_id=? AND region_id IS NULL", [media_id]).fetchall()
        kept: set[int] = set()
        w.execute("UPDATE faces SET idx=-id WHERE media_id=? AND region_id IS NULL",
                  [media_id])  # free the idx slots
        for face in faces:
            match = max(((_iou(face.box, o[2:]), o[0]) for o in old
                         if o[1] == face.frame and o[0] not in kept), default=(0.0, None))
            values = [face.frame, face.idx, *face.box, face.quality, int(face.sortable),
                      None if face.embedding is None else np.asarray(face.embedding, "<f4").tobytes(),
                      getattr(face, "score", None)]
            if match[0] >= 0.5:
                kept.add(match[1])
                w.execute("UPDATE faces SET frame=?, idx=?, box_left=?, box_top=?, box_right=?, "
                          "box_bottom=?, quality=?, sortable=?, embedding=?, score=? WHERE id=?",
                          [*values, match[1]])
                if not face.sortable:
                    w.execute("UPDATE faces SET person_id=NULL WHERE id=?", [match[1]])
            else:
                w.execute("INSERT INTO faces(media_id, frame, idx, box_left, box_top, box_right, "
                          "box_bottom, quality, sortable, embedding, score) VALUES(?, ?, ?, ?, ?, ?, "
                          "?, ?, ?, ?, ?)", [media_id, *values])
        for o in old:
            if o[0] not in kept:
                w.execute("DELETE FROM faces WHERE id=?", [o[0]])
        self._link_regions(w, media_id)

    def face_vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(face ids, media ids, person ids (0: none), float32 matrix) of every sortable face
        of an indexed photo."""
        rows = self._rows(
            "SELECT f.id, f.media_id, COALESCE(f.person_id, 0), f.embedding FROM faces f "
            "JOIN media m ON m.id=f.media_id WHERE f.sortable=1 AND f.embedding IS NOT NULL "
            "AND m.status='ok' ORDER BY f.id")
        if not rows:
            return (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64),
                    np.empty((0, 128), np.float32))
        ids, media, people = (np.array([r[i] for r in rows], np.int64) for i in range(3))
        matrix = np.frombuffer(b"".join(r[3] for r in rows), "<f4").reshape(len(rows), -1)
        return ids, media, people, matrix

    def set_face_people(self, assign: dict[int, int | None], new_groups: list[list[int]]) -> list[int]:
        """Move faces to people (None: unsorted) and make a new person of each group, in one
        transaction; people left with no face and nothing the user said about them go.
        Returns the new people's ids."""
        made = []
        with self.write() as w:
            for face_id, person_id in assign.items():
                w.execute("UPDATE faces SET person_id=? WHERE id=?", [person_id, face_id])
            for group in new_groups:
                person_id = w.execute("INSERT INTO people(created_at) VALUES(?)",
                                      [time.time()]).lastrowid
                made.append(person_id)
                for face_id in group:
                    w.execute("UPDATE faces SET person_id=? WHERE id=?", [person_id, face_id])
            drop_empty(w)
        return made


    def people(self, hidden: bool = False, min_photos: int = 1) -> list[PersonRow]:
        """People with their photo and face counts, most photos first: those named, hidden
        (with `hidden`) or seen in at least `min_photos` photos."""
        return self._people(("" if hidden else "WHERE p.hidden=0 ")
                            + "GROUP BY p.id HAVING p.name IS NOT NULL OR p.hidden=1 "
                            "OR COUNT(DISTINCT f.media_id) >= ?", [min_photos])

    def suggestions(self, min_photos: int) -> list[PersonRow]:
        """The faces seen together in fewer than `min_photos` photos, unnamed and not hidden:
        people to suggest, most photos first."""
        return self._people("WHERE p.name IS NULL AND p.hidden=0 GROUP BY p.id "
                            "HAVING COUNT(DISTINCT f.media_id) < ?", [min_photos])

    def _people(self, where: str, params: list) -> list[PersonRow]:
        rows = self._rows(
            "SELECT p.id, p.name, p.hidden, COUNT(DISTINCT f.media_id), "
            "SUM(f.region_id IS NULL) FROM people p "
            "JOIN faces f ON f.person_id=p.id JOIN media m ON m.id=f.media_id AND m.status='ok' "
            f"{where} ORDER BY COUNT(DISTINCT f.media_id) DESC, p.id", params)
        return [PersonRow(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def person(self, person_id: int) -> PersonRow | None:
        row = self.db.execute("SELECT id, name, hidden FROM people WHERE id=?", [person_id]).fetchone()
        if row is None:
            return None
        photos, faces = self.db.execute(
            "SELECT COUNT(DISTINCT f.media_id), COUNT(f.id) - COUNT(f.region_id) FROM faces f JOIN media m "
            "ON m.id=f.media_id AND m.status='ok' WHERE f.person_id=?", [person_id]).fetchone()
        return PersonRow(row[0], row[1], bool(row[2]), photos, faces)

    def person_media(self, person_id: int, limit: int = 1000) -> list[int]:
        """A person's photos, newest first."""
        return [r[0] for r in self._rows(
            "SELECT m.id FROM media m WHERE m.status='ok' AND m.id IN "
            "(SELECT media_id FROM faces WHERE person_id=?) "
            "ORDER BY COALESCE(m.taken_at, m.mtime_ns / 1e9) DESC, m.id DESC LIMIT ?",
            [person_id, limit])]

    def person_faces(self, person_id: int | None, limit: int = 200) -> list[FaceRow]:
        """A person's faces found in the photos (None: the unsorted ones that could be sorted),
        best first."""
        where = ("f.person_id=? AND f.region_id IS NULL" if person_id is not None
                 else "f.person_id IS NULL AND f.sortable=1")
        return [FaceRow(*r) for r in self._rows(
            "SELECT f.id, f.media_id, f.frame, f.idx, f.quality, f.person_id FROM faces f "
            f"JOIN media m ON m.id=f.media_id AND m.status='ok' WHERE {where} "
            "ORDER BY f.quality DESC, f.id LIMIT ?",
            ([person_id] if person_id is not None else []) + [limit])]

    def unsorted_count(self) -> int:
        """How many faces could be sorted and are in no one."""
        return self.db.execute(
            "SELECT COUNT(*) FROM faces f JOIN media m ON m.id=f.media_id AND m.status='ok' "
            "WHERE f.person_id IS NULL AND f.sortable=1").fetchone()[0]

    def media_faces(self, media_id: int) -> list[FaceRow]:
        """The faces found in one photo (or video), with their people."""
        return [FaceRow(*r) for r in self._rows(
            "SELECT id, media_id, frame, idx, quality, person_id FROM faces WHERE media_id=? "
            "AND region_id IS NULL ORDER BY frame, idx", [media_id])]

    def photos_with_people(self, person_ids: list[int]) -> int:
        """How many photos hold at least one of these people (a group photo once)."""
        count = 0
        ids = list(dict.fromkeys(person_ids))
        marks = ",".join("?" * len(ids))
        if ids:
            count = self.db.execute(
                f"SELECT COUNT(DISTINCT f.media_id) FROM faces f JOIN media m ON m.id=f.media_id "
                f"AND m.status='ok' WHERE f.person_id IN ({marks})", ids).fetchone()[0]
        return count

    def face(self, face_id: int) -> FaceRow | None:
        row = self.db.execute("SELECT id, media_id, frame, idx, quality, person_id FROM faces "
                              "WHERE id=?", [face_id]).fetchone()
        return FaceRow(*row) if row else None

    def faces_seen(self, media_ids: list[int]) -> dict[int, list[FaceSeen]]:
        """The faces of these photos as the people filters see them (whose, how sure)."""
        out: dict[int, list[FaceSeen]] = {m: [] for m in media_ids}
        for start in range(0, len(media_ids), 900):
            chunk = media_ids[start:start + 900]
            for media_id, person_id, name, score in self._rows(
                    "SELECT f.media_id, f.person_id, p.name, f.score FROM faces f LEFT JOIN "
                    "people p ON p.id=f.person_id WHERE f.media_id IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY f.media_id, f.frame, f.idx", chunk):
                out[media_id].append(FaceSeen(person_id, name, score))
        return out

    def people_named(self, name: str) -> list[int]:
        """Ids of the people with this name (any case); a number is a person's id."""
        out = [r[0] for r in self._rows("SELECT id, name FROM people WHERE name IS NOT NULL")
               if person_named(r[1], name)]
        number = person_number(name)
        if not out and number is not None and self.person(number) is not None:
            out = [number]
        return out

    def person_names(self) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT DISTINCT name FROM people WHERE name IS NOT NULL AND TRIM(name)!=''")]

    def people_in(self, media_id: int) -> list[str]:
        """The names of the named people in a photo."""
        return [r[0] for r in self._rows(
            "SELECT DISTINCT p.name FROM faces f JOIN people p ON p.id = f.person_id "
            "WHERE f.media_id=? AND p.name IS NOT NULL AND p.hidden=0 ORDER BY p.name",
            [media_id])]

    def face_boxes(self, media_id: int) -> list[FaceBox]:
        """The faces found in one photo (or video), in order, where they are and whose."""
        return [FaceBox(r[0], tuple(r[1:5]), r[5], bool(r[6]), r[7], r[8]) for r in self._rows(
            "SELECT f.frame, f.box_left, f.box_top, f.box_right, f.box_bottom, f.score, "
            "f.sortable, f.person_id, p.name FROM faces f LEFT JOIN people p ON p.id=f.person_id "
            "WHERE f.media_id=? ORDER BY f.frame, f.idx", [media_id])]


def drop_empty(w: sqlite_utils.Database) -> None:
    """People left with no face and nothing the user said about them go (a name the files
    give, waiting to be confirmed, is something said)."""
    w.execute("DELETE FROM people WHERE name IS NULL AND hidden=0 AND NOT EXISTS "
              "(SELECT 1 FROM faces f WHERE f.person_id=people.id) AND NOT EXISTS "
              "(SELECT 1 FROM face_constraints c WHERE c.person_id=people.id AND c.must=1) "
              "AND NOT EXISTS (SELECT 1 FROM file_names n WHERE n.person_id=people.id)")


def _iou(a, b) -> float:
    """Overlap of two boxes (left, top, right, bottom) over their union."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
