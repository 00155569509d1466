"""Names in the files: the face regions a photo's XMP names, the faces they cover, and the
people the user confirmed the names as (SQL for core/media/regions.py's regions).

Each name (any case) stands for one person. Until the user confirms it, that person has no
name and no face: a suggestion, listed with the photos the files name it in. Confirmed (once per
name), every region of that name names the found face it covers, which joins the person for
good, and a region with no face found there becomes a face of its own (`faces.region_id`), so
the person is in that photo for search. A face already in a person the user named otherwise,
or confirmed elsewhere, or told is not this person, stays where it is: names from the files
never overrule the user.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlite_utils

from core.media.regions import overlap
from core.query.filters import person_named
from core.store.db import Connections
from core.words import fold

STAND_IN_IDX = 1_000_000  # a region's own face: idx above any detector's, one per region
MAX_SIZE_RATIO = 6.0  # a region that names a face is no more than this much larger or smaller


@dataclass(frozen=True)
class FileNameRow:
    person_id: int  # the person the name stands for (no name of its own until confirmed)
    name: str  # as the files spell it
    photos: int  # photos whose files name it
    faces: int  # faces found where the files name it
    hidden: bool  # the user said no to it


class FileNames(Connections):
    """Names in the photos' files, and what they name."""

    def _write_names(self, w: sqlite_utils.Database, media_id: int, regions: list) -> None:
        """Replace a photo's regions (core.media.regions.Region) and name what they cover."""
        w.execute("DELETE FROM face_regions WHERE media_id=?", [media_id])
        for region in regions:
            w.execute("INSERT INTO face_regions(media_id, name_id, box_left, box_top, box_right, "
                      "box_bottom, source) VALUES(?, ?, ?, ?, ?, ?, ?)",
                      [media_id, self._name_id(w, region.name), *region.box, region.source])
        self._link_regions(w, media_id)

    @staticmethod
    def _name_id(w: sqlite_utils.Database, name: str) -> int:
        """The name's row, made with the person it stands for when new."""
        key = fold(name.strip(), accents=False)
        row = w.execute("SELECT id, person_id FROM file_names WHERE key=?", [key]).fetchone()
        if row is not None and row[1] is not None:
            return row[0]
        person = w.execute("INSERT INTO people(created_at) VALUES(?)", [time.time()]).lastrowid
        if row is not None:
            w.execute("UPDATE file_names SET person_id=? WHERE id=?", [person, row[0]])
            return row[0]
        return w.execute("INSERT INTO file_names(key, name, person_id) VALUES(?, ?, ?)",
                         [key, name.strip(), person]).lastrowid

    def _link_regions(self, w: sqlite_utils.Database, media_id: int) -> None:
        """Each region of a photo names the found face it covers best (one face, one region);
        a confirmed name joins its face, or stands as a face of its own where none was found."""
        regions = w.execute(
            "SELECT r.id, r.box_left, r.box_top, r.box_right, r.box_bottom, p.id, p.name "
            "FROM face_regions r JOIN file_names n ON n.id=r.name_id "
            "LEFT JOIN people p ON p.id=n.person_id WHERE r.media_id=? ORDER BY r.id",
            [media_id]).fetchall()
        w.execute("DELETE FROM faces WHERE media_id=? AND region_id IS NOT NULL", [media_id])
        w.execute("UPDATE face_regions SET face_id=NULL WHERE media_id=?", [media_id])
        if not regions:
            return
        faces = w.execute("SELECT id, box_left, box_top, box_right, box_bottom FROM faces "
                          "WHERE media_id=? AND frame=0", [media_id]).fetchall()
        pairs = sorted(((_iou(r[1:5], f[1:5]), r[0], f[0]) for r in regions for f in faces
                        if _covers(r[1:5], f[1:5])), reverse=True)
        linked: dict[int, int] = {}
        for _, region, face in pairs:
            if region not in linked and face not in linked.values():
                linked[region] = face
        for region, face in linked.items():
            w.execute("UPDATE face_regions SET face_id=? WHERE id=?", [face, region])
        for region, *box, person, name in regions:
            if person is None or name is None:  # not confirmed: a suggestion only
                continue
            if region in linked:
                self._name_face(w, linked[region], person)
            elif not w.execute("SELECT 1 FROM faces WHERE media_id=? AND frame=0 AND "
                               "person_id=?", [media_id, person]).fetchone():
                w.execute("INSERT INTO faces(media_id, frame, idx, box_left, box_top, box_right, "
                          "box_bottom, quality, sortable, person_id, region_id) "
                          "VALUES(?, 0, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
                          [media_id, STAND_IN_IDX + region, *box, person, region])

    @staticmethod
    def _name_face(w: sqlite_utils.Database, face_id: int, person: int) -> None:
        """A confirmed name's face joins its person, confirmed, unless the user said otherwise
        of it: in a person named otherwise, confirmed elsewhere, or not this person."""
        media_id, frame, now = w.execute("SELECT media_id, frame, person_id FROM faces WHERE id=?",
                                         [face_id]).fetchone()
        if now is not None and now != person and w.execute(
                "SELECT 1 FROM people WHERE id=? AND name IS NOT NULL UNION ALL SELECT 1 FROM "
                "face_constraints WHERE face_id=? AND person_id=? AND must=1",
                [now, face_id, now]).fetchone():
            return
        if w.execute("SELECT 1 FROM faces_apart a JOIN faces_apart b ON b.apart_id=a.apart_id "
                     "AND b.side!=a.side JOIN faces g ON g.id=b.face_id AND g.person_id=? "
                     "WHERE a.face_id=?", [person, face_id]).fetchone():
            return
        other = w.execute("SELECT f.id, c.must FROM faces f LEFT JOIN face_constraints c ON "
                          "c.face_id=f.id AND c.person_id=f.person_id AND c.must=1 WHERE "
                          "f.media_id=? AND f.frame=? AND f.person_id=? AND f.id!=?",
                          [media_id, frame, person, face_id]).fetchone()
        if other is not None:  # one face a picture: the user's word over the file's
            if other[1]:
                return
            w.execute("UPDATE faces SET person_id=NULL WHERE id=?", [other[0]])
        w.execute("UPDATE faces SET person_id=? WHERE id=?", [person, face_id])
        w.execute("INSERT OR REPLACE INTO face_constraints(face_id, person_id, must) "
                  "VALUES(?, ?, 1)", [face_id, person])

    # -- suggestions -----------------------------------------------------------------------
    def file_suggestions(self, hidden: bool = False) -> list[FileNameRow]:
        """The names the files give that the user has not confirmed, most photos first (and
        those said no to, with `hidden`)."""
        return [FileNameRow(r[0], r[1], r[2], r[3], bool(r[4])) for r in self._rows(
            "SELECT p.id, MIN(n.name), COUNT(DISTINCT r.media_id), COUNT(DISTINCT r.face_id), "
            "p.hidden FROM file_names n JOIN people p ON p.id=n.person_id "
            "JOIN face_regions r ON r.name_id=n.id "
            "JOIN media m ON m.id=r.media_id AND m.status='ok' WHERE p.name IS NULL "
            + ("" if hidden else "AND p.hidden=0 ") +
            "GROUP BY p.id ORDER BY COUNT(DISTINCT r.media_id) DESC, MIN(n.name), p.id")]

    def file_name_of(self, person_id: int) -> str | None:
        """The name the files give a person not confirmed yet (None: a person, or confirmed)."""
        row = self.db.execute("SELECT n.name FROM file_names n JOIN people p ON p.id=n.person_id "
                              "WHERE p.id=? AND p.name IS NULL", [person_id]).fetchone()
        return row[0] if row else None

    def file_name_media(self, person_id: int, limit: int = 1000) -> list[int]:
        """The photos whose files give the name a person stands for, newest first."""
        return [r[0] for r in self._rows(
            "SELECT m.id FROM media m WHERE m.status='ok' AND m.id IN (SELECT r.media_id FROM "
            "face_regions r JOIN file_names n ON n.id=r.name_id WHERE n.person_id=?) "
            "ORDER BY COALESCE(m.taken_at, m.mtime_ns / 1e9) DESC, m.id DESC LIMIT ?",
            [person_id, limit])]

    def file_name_faces(self, person_id: int, limit: int = 200) -> list[int]:
        """The found faces the files give that name, best first (face ids)."""
        return [r[0] for r in self._rows(
            "SELECT f.id FROM faces f JOIN face_regions r ON r.face_id=f.id JOIN file_names n "
            "ON n.id=r.name_id JOIN media m ON m.id=f.media_id AND m.status='ok' "
            "WHERE n.person_id=? ORDER BY f.quality DESC, f.id LIMIT ?", [person_id, limit])]

    def confirm_file_name(self, person_id: int, name: str, into: int | None = None) -> int:
        """The name the files give (that `person_id` stands for) is right, as `name`. Its
        person is `into` when given, else the person called `name` already, else the unnamed
        person who holds most of the faces the files give it (who takes the name, as naming
        them would), else the one it stood for. Every region of it then names its face. Returns
        the person."""
        with self.write() as w:
            if into is None:
                into = next((r[0] for r in w.execute(
                    "SELECT p.id, p.name FROM people p LEFT JOIN faces f ON f.person_id=p.id "
                    "WHERE p.name IS NOT NULL AND p.id!=? GROUP BY p.id "
                    "ORDER BY COUNT(f.id) DESC, p.id", [person_id]).fetchall()
                    if person_named(r[1], name)), None)
            if into is None:
                row = w.execute(
                    "SELECT f.person_id FROM face_regions r JOIN file_names n ON n.id=r.name_id "
                    "JOIN faces f ON f.id=r.face_id JOIN people p ON p.id=f.person_id "
                    "WHERE n.person_id=? AND p.name IS NULL AND p.hidden=0 AND p.id!=? "
                    "GROUP BY f.person_id ORDER BY COUNT(*) DESC, f.person_id LIMIT 1",
                    [person_id, person_id]).fetchone()
                into = row[0] if row else person_id
            if into != person_id:
                w.execute("UPDATE file_names SET person_id=? WHERE person_id=?", [into, person_id])
                w.execute("DELETE FROM people WHERE id=? AND NOT EXISTS (SELECT 1 FROM faces "
                          "WHERE person_id=?)", [person_id, person_id])
            if w.execute("SELECT name IS NULL FROM people WHERE id=?", [into]).fetchone()[0]:
                w.execute("UPDATE people SET name=?, hidden=0 WHERE id=?", [name.strip(), into])
                w.execute("INSERT OR REPLACE INTO face_constraints(face_id, person_id, must) "
                          "SELECT id, person_id, 1 FROM faces WHERE person_id=?", [into])
            for (media_id,) in w.execute(
                    "SELECT DISTINCT r.media_id FROM face_regions r JOIN file_names n ON "
                    "n.id=r.name_id WHERE n.person_id=?", [into]).fetchall():
                self._link_regions(w, media_id)
        return into


def _covers(region, face) -> bool:
    """Whether a region is about this face: they overlap by half of the smaller, and neither
    is many times the other's size."""
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in (region, face)]
    return min(areas) > 0 and max(areas) <= MAX_SIZE_RATIO * min(areas) \
        and overlap(region, face) >= 0.5


def _iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
