"""Faces that are never one person: two faces of one photo (look-alikes in a group photo, the
same person found twice), and faces the user said apart ("not this person"), which stays said
through every re-sorting and after the person it was said of is gone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_faces import astronaut
from test_people import both, people_library

from core.people.apart import Apart
from core.people.clustering import FaceClustering, join_nearest
from core.types import SnapseekError


@pytest.fixture
def grace_twice(tmp_path, random_model, exported_runtime):
    """Eileen in four photos, Grace in two (a suggestion)."""
    lib = people_library(tmp_path / "home", tmp_path / "Pictures", random_model,
                         leave_out=("grace_big_0.jpg", "grace_crop_0.jpg"),
                         runtime=exported_runtime)
    yield lib
    lib.close()


def twins(folder) -> str:
    """A group photo of two look-alikes: Eileen, and Eileen mirrored and a little lower (the
    same face seen twice, closer to itself than any two real siblings)."""
    a = astronaut()
    pair = Image.new("RGB", (a.width * 2, a.height + 40), "white")
    pair.paste(a, (0, 0))
    pair.paste(a.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (a.width, 40))
    path = folder / "twins.jpg"
    pair.save(path, quality=92)
    return str(path)


def doubled(lib) -> list[tuple]:
    """(person, photo, faces) wherever one person holds two faces of one photo."""
    return lib.catalog.db.execute(
        "SELECT person_id, media_id, COUNT(*) FROM faces WHERE person_id IS NOT NULL "
        "GROUP BY person_id, media_id HAVING COUNT(*) > 1").fetchall()


def unsort_everyone(lib) -> None:
    """Every face back to no one: the people with nothing said about them go."""
    lib.catalog.set_face_people({f: None for f in lib.catalog.face_vectors()[0].tolist()}, [])


def holder(lib, face_ids) -> set:
    return {lib.catalog.face(f).person_id for f in face_ids}


def test_the_nearer_of_two_faces_of_one_photo_joins_the_person():
    known = np.zeros((2, 4), np.float32)
    new = np.array([[0.2, 0, 0, 0], [0.1, 0, 0, 0]], np.float32)  # both close to person 7
    apart = Apart({1: 100, 2: 101, 10: 200, 11: 200}, {})
    apart.hold(7, 1)
    apart.hold(7, 2)
    assert join_nearest(new, np.array([10, 11]), known, np.array([7, 7]), apart) == {11: 7}
    # a photo the person is in already takes no face of theirs
    apart = Apart({1: 100, 10: 100, 11: 300}, {})
    apart.hold(7, 1)
    assert join_nearest(new, np.array([10, 11]), known[:1], np.array([7]), apart) == {11: 7}


def test_faces_said_apart_never_join_each_others_person():
    known = np.zeros((2, 4), np.float32)
    new = np.array([[0.1, 0, 0, 0]], np.float32)
    # face 10 was said not to be the person of faces 1 and 2 (one "not this person", set 5)
    apart = Apart({1: 100, 2: 101, 3: 102, 10: 200},
                  {10: {(5, 0)}, 1: {(5, 1)}, 2: {(5, 1)}})
    for face in (1, 2):
        apart.hold(7, face)
    assert join_nearest(new, np.array([10]), known, np.array([7, 7]), apart) == {}
    # ...but it may join someone else close by
    apart.hold(8, 3)
    assert join_nearest(new, np.array([10]), known, np.array([7, 8]), apart) == {10: 8}


def test_look_alikes_in_one_photo_are_two_people(grace_twice):
    lib = grace_twice
    folder = lib.folders()[0]
    path = twins(Path(folder.path))
    lib.update()
    lib.enrich()
    [eileen] = lib.people()
    media_id = lib.catalog.media_under(folder.id, path)[path].id
    sortable = [f.id for f in lib.faces_in(media_id)
                if f.id in set(lib.catalog.face_vectors()[0].tolist())]
    assert len(sortable) == 2  # both found, both recognisable
    assert doubled(lib) == [] and eileen.id in holder(lib, sortable)
    assert lib.catalog.person(eileen.id).photos == 5  # the group photo once
    lib.recluster()
    assert doubled(lib) == []
    unsort_everyone(lib)
    lib.recluster()
    assert doubled(lib) == [] and len(holder(lib, sortable) - {None}) >= 1
    # the user's word: the other twin is Eileen; the one that was moves out
    eileen_now = lib.people()[0].id
    [inside] = [f for f in sortable if lib.catalog.face(f).person_id == eileen_now]
    [other] = [f for f in sortable if f != inside]
    lib.move_face(other, eileen_now)
    assert lib.catalog.face(other).person_id == eileen_now
    assert lib.catalog.face(inside).person_id != eileen_now and doubled(lib) == []
    # two faces of one photo named at once with one name: one line, nothing changed
    with pytest.raises(SnapseekError, match="two faces of one photo"):
        lib.name_faces(sortable, "Eileen")
    assert lib.catalog.face(other).person_id == eileen_now
    lib.recluster()
    assert doubled(lib) == []


def test_a_rejection_outlives_its_person_and_every_resorting(grace_twice):
    lib = grace_twice
    eileen = lib.people()[0].id
    faces = [f.id for f in lib.person_faces(eileen)]
    assert lib.not_this_person(faces[0], eileen) == eileen
    unsort_everyone(lib)
    assert lib.catalog.person(eileen) is None  # the person it was said of is gone
    lib.recluster()
    others = holder(lib, faces[1:])
    assert len(others) == 1 and None not in others  # Eileen again, under some id
    assert lib.catalog.face(faces[0]).person_id not in others
    # new photos' sorting (not a full one) keeps it too
    unsort_everyone(lib)
    FaceClustering(lib.catalog).update()
    others = holder(lib, faces[1:])
    assert len(others) == 1 and None not in others
    assert lib.catalog.face(faces[0]).person_id not in others


def test_rejecting_several_faces_checks_they_are_that_persons(grace_twice):
    lib = grace_twice
    eileen, grace = lib.people()[0].id, lib.suggestions()[0].id
    mine = [f.id for f in lib.person_faces(eileen)]
    hers = [f.id for f in lib.person_faces(grace)]
    with pytest.raises(SnapseekError, match=f"Face {hers[0]} is not in person {eileen}"):
        lib.reject_faces([mine[0], hers[0]], eileen)
    assert holder(lib, mine) == {eileen} and holder(lib, hers) == {grace}  # all or none
    assert lib.reject_faces(mine[:2], eileen) == {eileen}
    assert holder(lib, mine[:2]) == {None}


def test_a_photo_of_two_people_counts_once(grace_twice):
    lib = grace_twice
    both(Path(lib.folders()[0].path))
    lib.update()
    lib.enrich()
    shown = lib.people() + lib.suggestions()
    assert sorted(p.photos for p in shown) == [3, 5]
    assert lib.photos_with_people([p.id for p in shown]) == 7


def test_rejections_of_an_older_catalog_move_to_the_faces(tmp_path):
    """Schema 8: a "not this person" kept against a person's id (with the person's deletion
    it was lost) becomes the face apart from the faces that person holds."""
    import sqlite3

    from core.store import SCHEMA_VERSION, Catalog

    path = tmp_path / "catalog.db"
    Catalog(path).close()
    con = sqlite3.connect(path)
    con.create_function("snapseek_path_text", 2, lambda path, folder: "")  # the FTS trigger's
    con.execute("DROP TABLE faces_apart")
    con.execute("INSERT INTO folders(path, added_at) VALUES('/p', 0)")
    for n in range(1, 4):
        con.execute("INSERT INTO media(folder_id, path, size, mtime_ns, content_hash, added_at, "
                    "status) VALUES(1, ?, 1, 1, 'h', 0, 'ok')", [f"/p/{n}.jpg"])
    con.execute("INSERT INTO people(id, created_at) VALUES(7, 0)")
    for face, media, person in ((1, 1, 7), (2, 2, 7), (3, 3, None)):
        con.execute("INSERT INTO faces(id, media_id, idx, box_left, box_top, box_right, "
                    "box_bottom, quality, sortable, person_id) VALUES(?, ?, 0, 0, 0, 1, 1, 1, 1, ?)",
                    [face, media, person])
    con.execute("INSERT INTO face_constraints(face_id, person_id, must) VALUES(3, 7, 0)")
    con.execute("INSERT INTO face_constraints(face_id, person_id, must) VALUES(1, 7, 1)")
    con.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    con.commit()
    con.close()
    cat = Catalog(path)
    assert cat.get_meta("schema_version") == str(SCHEMA_VERSION) and SCHEMA_VERSION >= 8
    assert cat.face_constraints() == {1: 7}
    apart = Apart({1: 1, 2: 2, 3: 3}, cat.faces_apart())
    apart.hold(9, 1)  # whoever holds face 1 or 2 later, under any id
    assert not apart.allows(9, 3)
    assert apart.allows(10, 3)
    cat.close()
