"""People seen in two photos are suggested, not dropped; a face moved to a person, or told it
is not someone, stays so through new photos and every re-sorting; in the library and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli
from PIL import ImageEnhance
from test_faces import grace_hopper
from test_people import people_library

from core.types import SnapseekError


@pytest.fixture
def grace_twice(tmp_path, random_model, exported_runtime):
    """Eileen in four photos, Grace in two."""
    folder = tmp_path / "Pictures"
    lib = people_library(tmp_path / "home", folder, random_model,
                         leave_out=("grace_big_0.jpg", "grace_crop_0.jpg"),
                         runtime=exported_runtime)
    yield lib, folder
    lib.close()


def names_of(lib, person_id: int) -> set[str]:
    return {Path(r.path).name for r in lib.person_photos(person_id)}


def test_someone_seen_in_two_photos_is_suggested_and_naming_makes_a_person(grace_twice):
    lib, folder = grace_twice
    assert [p.photos for p in lib.people()] == [4]
    suggested = lib.suggestions()
    assert [p.photos for p in suggested] == [2]
    assert names_of(lib, suggested[0].id) == {"grace_a_0.jpg", "grace_flip_0.jpg"}
    lib.name_person(suggested[0].id, "Grace")
    assert lib.suggestions() == [] and {p.name for p in lib.people()} == {None, "Grace"}
    assert lib.recluster()["people"] == 2 and lib.suggestions() == []


def test_a_third_photo_makes_a_suggestion_a_person(grace_twice):
    lib, folder = grace_twice
    suggested = lib.suggestions()[0].id
    ImageEnhance.Contrast(grace_hopper()).enhance(1.3).save(folder / "grace_new.jpg", quality=90)
    lib.update()
    lib.enrich()
    assert lib.suggestions() == [] and suggested in {p.id for p in lib.people()}


def misplace(lib) -> tuple[int, int, object]:
    """One of Grace's faces sorted into Eileen by mistake: (Eileen, Grace, the face)."""
    eileen, grace = lib.people()[0].id, lib.suggestions()[0].id
    face = lib.person_faces(grace)[0]
    lib.catalog.set_face_people({face.id: eileen}, [])
    return eileen, grace, face


def test_a_moved_face_stays_where_it_was_put(grace_twice):
    lib, _ = grace_twice
    eileen, grace, face = misplace(lib)
    assert lib.catalog.person(eileen).photos == 5
    assert lib.move_face(face.id, grace) == eileen
    moved = lib.face_paths([face])[face.media_id]
    for _ in range(2):
        lib.recluster()
        assert moved in {r.path for r in lib.person_photos(grace)}
        assert [lib.catalog.person(p).photos for p in (eileen, grace)] == [4, 2]
    with pytest.raises(SnapseekError, match="There is no face 999"):
        lib.move_face(999, grace)
    with pytest.raises(SnapseekError, match="There is no person 999"):
        lib.move_face(face.id, 999)


@pytest.mark.parametrize("named", [False, True])
def test_not_this_person_is_remembered_through_every_sorting(grace_twice, named):
    lib, folder = grace_twice
    eileen = lib.people()[0].id
    if named:  # a named person's faces are confirmed: they never move by themselves
        lib.name_person(eileen, "Eileen")
    face = lib.person_faces(eileen)[0]
    rejected = lib.face_paths([face])[face.media_id]
    with pytest.raises(SnapseekError, match=f"Face {face.id} is not in person 999|no person"):
        lib.not_this_person(face.id, 999)
    assert lib.not_this_person(face.id, eileen) == eileen

    def in_eileen() -> bool:
        return rejected in {r.path for r in lib.person_photos(eileen)}

    assert not in_eileen()
    for _ in range(2):
        lib.recluster()
        assert not in_eileen() and lib.catalog.person(eileen).photos == 3
    # a new photo's batch sorts the unsorted faces again: that one still goes elsewhere
    ImageEnhance.Contrast(grace_hopper()).enhance(1.3).save(folder / "grace_new.jpg", quality=90)
    lib.update()
    lib.enrich()
    assert not in_eileen() and lib.catalog.person(eileen).photos == 3


def test_cli_suggestions_faces_move_and_reject(grace_twice, random_model):
    lib, _ = grace_twice
    home = lib.home
    eileen, grace, misplaced = misplace(lib)
    lib.close()
    people = json.loads(run_cli("people", "--json", home=home).stdout)
    listed = run_cli("people", home=home)
    assert "1 more seen in fewer photos: snapseek people suggestions" in listed.stderr
    suggested = json.loads(run_cli("people", "suggestions", "--json", home=home).stdout)
    assert [(p["id"], len(p["paths"])) for p in people + suggested] == [(eileen, 5), (grace, 1)]
    faces = json.loads(run_cli("people", "faces", str(eileen), "--json", home=home).stdout)
    assert len(faces) == 5 and {f["path"] for f in faces} == set(people[0]["paths"])
    out = run_cli("people", "move", str(misplaced.id), str(grace), home=home).stdout
    assert out.strip() == f"Face {misplaced.id} is person {grace}'s (it left person {eileen})."
    rejected = next(f for f in faces if f["id"] != misplaced.id)
    out = run_cli("people", "reject", str(eileen), str(rejected["id"]), home=home).stdout
    assert "will not be sorted back" in out
    run_cli("people", "recluster", home=home)
    left = json.loads(run_cli("people", "faces", str(eileen), "--json", home=home).stdout)
    assert {f["id"] for f in left} == {f["id"] for f in faces} - {misplaced.id, rejected["id"]}
    unsorted = json.loads(run_cli("people", "faces", "unsorted", "--json", home=home).stdout)
    assert rejected["id"] in {f["id"] for f in unsorted}
    listed = run_cli("people", home=home).stderr  # the faces in no one are listed, once
    assert f"{len(unsorted)} face{'s' if len(unsorted) > 1 else ''} in no one: snapseek people " \
        "faces unsorted" in listed
    bad = run_cli("people", "reject", str(eileen), str(rejected["id"]), home=home, check=False)
    assert bad.returncode == 1 and f"Face {rejected['id']} is not in person {eileen}" in bad.stderr
    bad = run_cli("people", "move", "x", "1", home=home, check=False)
    assert bad.returncode == 1 and "not a face id: 'x'" in bad.stderr


def test_several_faces_move_reject_and_take_a_name_in_one_change(grace_twice):
    lib, _ = grace_twice
    eileen, grace = lib.people()[0].id, lib.suggestions()[0].id
    faces = [f.id for f in lib.person_faces(eileen)]
    lib.move_faces(faces[:2], grace)
    assert [lib.catalog.person(p).photos for p in (eileen, grace)] == [2, 4]
    assert lib.reject_faces(faces[:1] + faces[2:3]) == {grace, eileen}
    assert [lib.catalog.person(p).photos for p in (eileen, grace)] == [1, 3]
    lib.recluster()  # rejected stays rejected, moved stays moved
    assert faces[1] in {f.id for f in lib.person_faces(grace)}
    assert not {faces[0], faces[2]} & {f.id for f in lib.person_faces(eileen)}
    # and the faces moved out of a person never join the faces they left again: faces 2 and
    # 3 stay out of the person that holds faces 0 or 1
    assert {lib.catalog.face(f).person_id for f in faces[2:]} & {
        lib.catalog.face(f).person_id for f in faces[:2]} <= {None}
    # a new name makes a person; the same name again (any case) finds them
    anna = lib.name_faces([faces[1]], "Anna")
    assert lib.catalog.person(anna).name == "Anna"
    assert lib.catalog.person(grace) is None  # its one face moved on, and nothing said of it
    assert lib.name_faces([faces[3]], " anna ") == anna
    assert {f.id for f in lib.person_faces(anna)} == {faces[1], faces[3]}
    assert lib.catalog.person(eileen) is None  # left with no face and no name: gone
    with pytest.raises(SnapseekError, match="There is no face 999"):
        lib.reject_faces([faces[1], 999])
    assert {f.id for f in lib.person_faces(anna)} == {faces[1], faces[3]}  # all or none
    with pytest.raises(SnapseekError, match="A name is needed"):
        lib.name_faces([faces[1]], "  ")
