"""People: the faces the second pass finds, the people they make, and the user's corrections."""

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


class People(Connections):
    """Faces and people; every correction the user makes is kept as a constraint."""

    @staticmethod
    def _write_faces(w: sqlite_utils.Database, media_id: int, faces: list) -> None:
        """Replace a photo's faces. A face found again at the same place (boxes overlapping by
        half) keeps its id, person and the user's corrections."""
        old = w.execute("SELECT id, frame, box_left, box_top, box_right, box_bottom FROM faces "
                        "WHERE media_id=?", [media_id]).fetchall()
        kept: set[int] = set()
        w.execute("UPDATE faces SET idx=-id WHERE media_id=?", [media_id])  # free the idx slots
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

    def face_constraints(self) -> dict[int, int]:
        """The faces the user confirmed: face → the person it must be in."""
        return dict(self._rows("SELECT face_id, person_id FROM face_constraints WHERE must=1"))

    def faces_apart(self) -> dict[int, set[tuple[int, int]]]:
        """"Not this person", said of faces: face → the (rejection, side) pairs it is on. No
        face is one person with a face on the other side of one of its rejections."""
        out: dict[int, set[tuple[int, int]]] = {}
        for apart_id, face_id, side in self._rows(
                "SELECT apart_id, face_id, side FROM faces_apart"):
            out.setdefault(face_id, set()).add((apart_id, side))
        return out

    def face_pictures(self) -> dict[int, tuple[int, int]]:
        """face → its picture (photo, and moment of a video) for every sortable face: a
        person holds one face a picture."""
        return {r[0]: (r[1], r[2]) for r in self._rows(
            "SELECT id, media_id, frame FROM faces WHERE sortable=1 AND embedding IS NOT NULL")}

    def held_without_vectors(self) -> list[tuple[int, tuple[int, int]]]:
        """(person, picture) for the faces in a person that clustering does not see (too
        small to sort): the pictures those people are in already."""
        return [(r[0], (r[1], r[2])) for r in self._rows(
            "SELECT DISTINCT person_id, media_id, frame FROM faces WHERE person_id IS NOT NULL "
            "AND (sortable=0 OR embedding IS NULL)")]

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
            self._drop_empty(w)
        return made

    @staticmethod
    def _drop_empty(w: sqlite_utils.Database) -> None:
        """People left with no face and nothing the user said about them go."""
        w.execute("DELETE FROM people WHERE name IS NULL AND hidden=0 AND NOT EXISTS "
                  "(SELECT 1 FROM faces f WHERE f.person_id=people.id) AND NOT EXISTS "
                  "(SELECT 1 FROM face_constraints c WHERE c.person_id=people.id AND c.must=1)")

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
            "SELECT p.id, p.name, p.hidden, COUNT(DISTINCT f.media_id), COUNT(f.id) FROM people p "
            "JOIN faces f ON f.person_id=p.id JOIN media m ON m.id=f.media_id AND m.status='ok' "
            f"{where} ORDER BY COUNT(DISTINCT f.media_id) DESC, p.id", params)
        return [PersonRow(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def person(self, person_id: int) -> PersonRow | None:
        row = self.db.execute("SELECT id, name, hidden FROM people WHERE id=?", [person_id]).fetchone()
        if row is None:
            return None
        photos, faces = self.db.execute(
            "SELECT COUNT(DISTINCT f.media_id), COUNT(f.id) FROM faces f JOIN media m "
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
        """A person's faces (None: the unsorted ones that could be sorted), best first."""
        where = "f.person_id=?" if person_id is not None else "f.person_id IS NULL AND f.sortable=1"
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
            "ORDER BY frame, idx", [media_id])]

    def rename_person(self, person_id: int, name: str | None) -> None:
        """Name a person: their faces now are theirs for good (must-link), whatever a
        re-clustering finds later."""
        with self.write() as w:
            w.execute("UPDATE people SET name=? WHERE id=?", [name, person_id])
            self._confirm(w, person_id)

    def hide_person(self, person_id: int, hidden: bool = True) -> None:
        with self.write() as w:
            w.execute("UPDATE people SET hidden=? WHERE id=?", [int(hidden), person_id])
            self._confirm(w, person_id)

    @staticmethod
    def _confirm(w: sqlite_utils.Database, person_id: int) -> None:
        w.execute("INSERT OR REPLACE INTO face_constraints(face_id, person_id, must) "
                  "SELECT id, person_id, 1 FROM faces WHERE person_id=?", [person_id])

    def merge_people(self, keep: int, gone: int) -> None:
        """Two people are one: `gone`'s faces and corrections move to `keep`, all confirmed. In
        a photo where both have a face, `gone`'s leaves (one person, one face a photo)."""
        with self.write() as w:
            name = w.execute("SELECT COALESCE(a.name, b.name), MIN(a.hidden, b.hidden) FROM "
                             "people a, people b WHERE a.id=? AND b.id=?", [keep, gone]).fetchone()
            twice = [r[0] for r in w.execute(
                "SELECT a.id FROM faces a JOIN faces b ON b.media_id=a.media_id AND "
                "b.frame=a.frame AND b.person_id=? WHERE a.person_id=?", [keep, gone]).fetchall()]
            self._leave(w, twice)
            w.execute("UPDATE faces SET person_id=? WHERE person_id=?", [keep, gone])
            w.execute("UPDATE OR REPLACE face_constraints SET person_id=? WHERE person_id=?",
                      [keep, gone])
            w.execute("UPDATE people SET name=?, hidden=? WHERE id=?", [name[0], name[1], keep])
            w.execute("DELETE FROM people WHERE id=?", [gone])
            self._confirm(w, keep)

    def face_not_person(self, face_id: int) -> int | None:
        """"Not this person": the face leaves its person for good and becomes unsorted; it is
        kept apart from the faces that person holds, whatever becomes of the person. Returns
        the person it left."""
        return self.faces_not_person([face_id]).get(face_id)

    def faces_not_person(self, face_ids: list[int]) -> dict[int, int]:
        """"Not this person" for several faces in one transaction. Returns the person each
        face left (faces that were in no one are not in it)."""
        with self.write() as w:
            left = self._people_of(w, face_ids)
            for person_id in set(left.values()):
                faces = [f for f, p in left.items() if p == person_id]
                self._keep_apart(w, faces, person_id)
                self._leave(w, faces)
        return left

    @staticmethod
    def _people_of(w: sqlite_utils.Database, face_ids: list[int]) -> dict[int, int]:
        """face → its person, for those of these faces in someone."""
        out = {}
        for face_id in face_ids:
            row = w.execute("SELECT person_id FROM faces WHERE id=?", [face_id]).fetchone()
            if row is not None and row[0] is not None:
                out[face_id] = row[0]
        return out

    @staticmethod
    def _keep_apart(w: sqlite_utils.Database, faces: list[int], person_id: int) -> None:
        """These faces are not `person_id`: kept apart from every other face it holds now."""
        others = [r[0] for r in w.execute("SELECT id FROM faces WHERE person_id=?",
                                          [person_id]).fetchall() if r[0] not in set(faces)]
        if not faces or not others:
            return
        apart_id = w.execute("SELECT COALESCE(MAX(apart_id), 0) + 1 FROM faces_apart").fetchone()[0]
        w.conn.executemany(
            "INSERT OR IGNORE INTO faces_apart(apart_id, face_id, side) VALUES(?, ?, ?)",
            [(apart_id, f, 0) for f in faces] + [(apart_id, f, 1) for f in others])

    @staticmethod
    def _leave(w: sqlite_utils.Database, faces: list[int]) -> None:
        """These faces are in no one now, and no longer confirmed where they were."""
        for face_id in faces:
            w.execute("DELETE FROM face_constraints WHERE face_id=? AND person_id="
                      "(SELECT person_id FROM faces WHERE id=?)", [face_id, face_id])
            w.execute("UPDATE faces SET person_id=NULL WHERE id=?", [face_id])

    def move_face(self, face_id: int, person_id: int) -> int | None:
        """A face is this person's, for good (must-link), and not the one it was in (kept
        apart from its faces). Returns the person it left."""
        return self.move_faces([face_id], person_id).get(face_id)

    def move_faces(self, face_ids: list[int], person_id: int) -> dict[int, int | None]:
        """`move_face` for several faces in one transaction; returns the person each left."""
        with self.write() as w:
            left = self._move(w, face_ids, person_id)
            self._drop_empty(w)
        return left

    def move_faces_to_name(self, face_ids: list[int], name: str) -> int:
        """These faces are the person called `name` (any case; the one with most faces when
        several are): moved there, the person made when no one has that name yet, in one
        transaction. Returns that person."""
        with self.write() as w:
            named = [r[0] for r in w.execute(
                "SELECT p.id, p.name FROM people p LEFT JOIN faces f ON f.person_id=p.id "
                "WHERE p.name IS NOT NULL GROUP BY p.id ORDER BY COUNT(f.id) DESC, p.id")
                .fetchall() if person_named(r[1], name)]
            person_id = named[0] if named else w.execute(
                "INSERT INTO people(name, created_at) VALUES(?, ?)",
                [name.strip(), time.time()]).lastrowid
            self._move(w, face_ids, person_id)
            self._drop_empty(w)
        return person_id

    def _move(self, w: sqlite_utils.Database, face_ids: list[int], person_id: int
              ) -> dict[int, int | None]:
        """The faces are `person_id`'s (confirmed), kept apart from the people they leave; a
        face of the person's in the same photo as one of them leaves it (one face a photo)."""
        was = self._people_of(w, face_ids)
        moving = set(face_ids)
        marks = ",".join("?" * len(face_ids))
        self._leave(w, [r[0] for r in w.execute(
            f"SELECT a.id FROM faces a JOIN faces b ON b.media_id=a.media_id AND b.frame=a.frame "
            f"AND b.id IN ({marks}) WHERE a.person_id=? AND a.id NOT IN ({marks})",
            [*face_ids, person_id, *face_ids]).fetchall()])
        for old in set(was.values()) - {person_id}:
            faces = [f for f, p in was.items() if p == old]
            self._keep_apart(w, faces, old)
            self._leave(w, faces)
        for face_id in moving:
            w.execute("UPDATE faces SET person_id=? WHERE id=?", [person_id, face_id])
            w.execute("INSERT OR REPLACE INTO face_constraints(face_id, person_id, must) "
                      "VALUES(?, ?, 1)", [face_id, person_id])
        return {face_id: was.get(face_id) for face_id in face_ids}

    def faces_in_one_photo(self, face_ids: list[int]) -> list[tuple[int, int]]:
        """Pairs of these faces that are in one photo (and moment): never one person."""
        seen: dict[tuple[int, int], int] = {}
        pairs = []
        for face_id in face_ids:
            row = self.db.execute("SELECT media_id, frame FROM faces WHERE id=?",
                                  [face_id]).fetchone()
            if row is None:
                continue
            if tuple(row) in seen:
                pairs.append((seen[tuple(row)], face_id))
            else:
                seen[tuple(row)] = face_id
        return pairs

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


def _iou(a, b) -> float:
    """Overlap of two boxes (left, top, right, bottom) over their union."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
