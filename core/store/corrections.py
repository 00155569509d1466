"""The user's corrections: naming, hiding and merging people (which confirm their faces),
"not this person" and moving faces, kept so that no re-sorting undoes them.

A confirmed face is must-linked to its person (`face_constraints`). "Not this person" is said
of faces (`faces_apart`): the faces it was said of on one side, the faces the person held then
on the other, never one person whatever ids the people get later. Two faces of one picture are
never one person either: a face moved to someone takes out that someone's face of the picture.
"""

from __future__ import annotations

import time

import sqlite_utils

from core.query.filters import person_named
from core.store.db import Connections
from core.store.people import drop_empty


class Corrections(Connections):
    """What the user said about faces and people."""

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
            w.execute("UPDATE file_names SET person_id=? WHERE person_id=?", [keep, gone])
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
        """These faces are in no one now, and no longer confirmed where they were (a face a
        name in the files stood for goes: a face found there is the person now)."""
        for face_id in faces:
            w.execute("DELETE FROM faces WHERE id=? AND region_id IS NOT NULL", [face_id])
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
            drop_empty(w)
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
            drop_empty(w)
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
