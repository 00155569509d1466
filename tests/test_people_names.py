"""Names a library already holds: the face regions other programs wrote into the photos (MWG
in the file, Microsoft's in an .xmp sidecar, a photo stored on its side) are suggestions until
the user confirms each name once; then the faces they cover are that person's, and a region
where no face was found still puts the person in the photo for search. Names never merge
with a person named otherwise, and the files are never written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import make_photo, run_cli
from PIL import Image
from test_faces import grace_hopper
from test_regions import exiftool, microsoft, mwg, needs_exiftool

from core.types import Query, SnapseekError

pytestmark = needs_exiftool


def face_box(im: Image.Image) -> tuple[float, float, float, float]:
    """Where the detector finds the one face of an upright picture (fractions)."""
    from core.people.faces import find_faces

    found, _ = find_faces(np.asarray(im.convert("RGB")))
    return max((f for f in found if f.sortable), key=lambda f: f.quality).box


def centre(box) -> tuple[float, float, float, float]:
    left, top, right, bottom = box
    return (left + right) / 2, (top + bottom) / 2, right - left, bottom - top


def name_faces_in_files(folder: Path) -> dict[str, Path]:
    """The regions another program left: Grace named in two photos' own XMP (MWG), in one's
    sidecar (Microsoft's, another case), in a photo stored on its side, and in a photo where
    no face is found; Eileen, as "E. Collins", in one."""
    grace = grace_hopper()
    box = face_box(grace)
    x, y, w, h = centre(box)
    files = {}
    for name in ("grace_a_0.jpg", "grace_crop_0.jpg"):
        path = folder / name
        picture_box = face_box(Image.open(path))
        exiftool(path, mwg(Image.open(path).size, ("Grace Hopper", *centre(picture_box))))
        files[name] = path
    flip = folder / "grace_flip_0.jpg"
    left, top, right, bottom = face_box(Image.open(flip))
    exiftool(folder / "grace_flip_0.jpg.xmp",
             microsoft(("grace hopper", left, top, right - left, bottom - top)))
    files["sidecar"] = folder / "grace_flip_0.jpg.xmp"
    # stored turned a quarter anticlockwise; EXIF orientation 6 stands it up again
    turned = folder / "grace_turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    grace.transpose(Image.Transpose.ROTATE_90).save(turned, quality=92, exif=exif.tobytes())
    # upright (x, y) is stored (y, 1 - x): the region is written as the file is stored
    exiftool(turned, mwg((grace.height, grace.width), ("Grace Hopper", y, 1 - x, h, w)))
    files["turned"] = turned
    nobody = folder / "nobody_red.jpg"
    exiftool(nobody, mwg(Image.open(nobody).size, ("Grace Hopper", 0.5, 0.5, 0.2, 0.3)))
    files["nobody"] = nobody
    eileen = folder / "eileen_a_0.jpg"
    exiftool(eileen, mwg(Image.open(eileen).size, ("E. Collins", *centre(face_box(
        Image.open(eileen))))))
    files["eileen"] = eileen
    return files


@pytest.fixture
def named_in_files(tmp_path, random_model, exported_runtime):
    """Eileen in four photos, Grace in five, and the names other programs left in them."""
    import shutil

    from core.library import Library
    from test_people import write_people

    folder = tmp_path / "Pictures"
    write_people(folder)
    files = name_faces_in_files(folder)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    lib = Library(tmp_path / "home", model=random_model)
    shutil.copytree(exported_runtime, tmp_path / "home" / "runtime")
    lib.add_folder(folder)
    lib.update()
    lib.enrich()
    yield lib, folder, files, before
    lib.close()


def by_name(rows) -> dict:
    return {r.name: r for r in rows}


def photo_names(lib, person_id: int) -> set[str]:
    return {Path(r.path).name for r in lib.person_photos(person_id)}


def test_names_in_the_files_are_suggestions_until_confirmed(named_in_files):
    lib, folder, files, before = named_in_files
    named = by_name(lib.file_suggestions())
    assert set(named) == {"Grace Hopper", "E. Collins"}  # one name in any case
    grace = named["Grace Hopper"]
    assert (grace.photos, grace.faces) == (5, 4)  # the photo with no face found: a photo, no face
    assert photo_names(lib, grace.person_id) == {
        "grace_a_0.jpg", "grace_crop_0.jpg", "grace_flip_0.jpg", "grace_turned.jpg",
        "nobody_red.jpg"}
    # nothing moved, nothing named: the people are as sorting made them
    assert sorted(p.photos for p in lib.people()) == [4, 5] and all(
        p.name is None for p in lib.people())
    with pytest.raises(SnapseekError, match="No person is named 'Grace Hopper'"):
        lib.search(Query(persons=["Grace Hopper"]))
    # the faces the files name are those of Grace's person (the one stored on its side too)
    faces = lib.person_faces(grace.person_id)
    [cluster] = {f.person_id for f in faces}
    assert len(faces) == 4 and photo_names(lib, cluster) >= {"grace_turned.jpg"}

    person = lib.name_person(grace.person_id, "Grace Hopper")  # confirmed, once
    assert person == cluster  # the person holding them takes the name
    assert lib.file_suggestions() == [by_name(lib.file_suggestions())["E. Collins"]]
    assert lib.catalog.person(person).name == "Grace Hopper"
    found = {Path(r.path).name for r in lib.search(Query(persons=["grace hopper"], k=50))}
    # the five photos of her, and the one the files say she is in where no face was found
    assert found == {"grace_a_0.jpg", "grace_big_0.jpg", "grace_crop_0.jpg", "grace_flip_0.jpg",
                     "grace_turned.jpg", "nobody_red.jpg"}
    assert lib.catalog.person(person).photos == 6
    assert lib.catalog.person(person).faces == 5  # the faces found; the region is no crop
    for _ in range(2):  # it is hers for good
        lib.recluster()
        assert {Path(r.path).name for r in lib.search(Query(persons=["Grace Hopper"], k=50))} \
            == found
    # read, never written: every file as it was, and no file more
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before


def test_a_name_from_the_files_never_merges_with_someone_named_otherwise(named_in_files):
    lib, folder, files, _ = named_in_files
    eileen = next(p for p in lib.people() if "eileen_a_0.jpg" in photo_names(lib, p.id))
    lib.name_person(eileen.id, "Eileen Collins")
    suggestion = by_name(lib.file_suggestions())["E. Collins"].person_id
    collins = lib.name_person(suggestion, "E. Collins")  # confirmed as the files spell it
    assert collins != eileen.id
    assert lib.catalog.person(eileen.id).photos == 4  # her face stays with the name she has
    assert "E. Collins" not in {p.name for p in lib.people()}  # someone with no photo yet
    assert "E. Collins" not in by_name(lib.file_suggestions(hidden=True))  # asked once


def test_a_name_confirmed_as_someone_joins_them_and_no_is_remembered(named_in_files):
    lib, folder, files, _ = named_in_files
    eileen = next(p for p in lib.people() if "eileen_a_0.jpg" in photo_names(lib, p.id))
    lib.name_person(eileen.id, "Eileen Collins")
    named = by_name(lib.file_suggestions())
    assert lib.name_person(named["E. Collins"].person_id, "eileen collins") == eileen.id
    assert lib.catalog.person(eileen.id).photos == 4
    lib.hide_person(named["Grace Hopper"].person_id)  # no: not a name to use
    assert lib.file_suggestions() == []
    assert [n.name for n in lib.file_suggestions(hidden=True)] == ["Grace Hopper"]
    assert all(p.name != "Grace Hopper" for p in lib.people(hidden=True))
    lib.update()
    lib.enrich()
    lib.recluster()
    assert lib.file_suggestions() == []  # still no, after sorting again


def test_a_new_photo_with_a_confirmed_name_joins_its_person(named_in_files):
    lib, folder, files, _ = named_in_files
    person = lib.name_person(by_name(lib.file_suggestions())["Grace Hopper"].person_id,
                             "Grace Hopper")
    later = make_photo(folder / "later.jpg", "green", seed=9)  # no face a detector finds
    exiftool(later, mwg(Image.open(later).size, ("Grace Hopper", 0.3, 0.3, 0.2, 0.2)))
    lib.update()
    lib.enrich()
    assert "later.jpg" in photo_names(lib, person)
    assert "Grace Hopper" not in by_name(lib.file_suggestions())  # asked once


def test_cli_lists_confirms_and_says_no_to_names_from_the_files(named_in_files):
    lib, *_ = named_in_files
    home = lib.home
    lib.close()
    listed = run_cli("people", home=home)
    assert "2 names from the photos' files to confirm: snapseek people suggestions" \
        in listed.stderr
    suggested = run_cli("people", "suggestions", home=home)
    line = next(line for line in suggested.stdout.splitlines() if "Grace Hopper?" in line)
    assert line.endswith("Grace Hopper?  named in the files of 5 photos")
    assert "Confirm a name from the files: snapseek people name ID" in suggested.stderr
    data = json.loads(run_cli("people", "suggestions", "--json", home=home).stdout)
    grace = next(p for p in data if p["file_name"] == "Grace Hopper")
    collins = next(p for p in data if p["file_name"] == "E. Collins")
    assert len(grace["paths"]) == 5 and grace["name"] is None
    out = run_cli("people", "name", str(grace["id"]), home=home).stdout.strip()
    assert out.endswith("Grace Hopper.") and out.startswith(f"Person {grace['id']} ")
    out = run_cli("people", "hide", str(collins["id"]), home=home).stdout
    assert "hidden" in out
    assert "No suggestions." in run_cli("people", "suggestions", home=home).stderr
    found = json.loads(run_cli("search", "--person", "Grace Hopper", "-k", "50", "--json",
                               home=home).stdout)
    assert len(found) == 6
    bad = run_cli("people", "name", "999", home=home, check=False)
    assert bad.returncode == 1 and "There is no person 999" in bad.stderr


def test_a_catalog_from_schema_8_gains_the_names(tmp_path):
    import sqlite3

    from core.store import SCHEMA_VERSION, Catalog

    path = tmp_path / "catalog.db"
    Catalog(path).close()
    con = sqlite3.connect(path)
    for table in ("face_regions", "file_names"):
        con.execute(f"DROP TABLE {table}")
    columns = [r[1] for r in con.execute("PRAGMA table_info(faces)") if r[1] != "region_id"]
    con.execute(f"CREATE TABLE faces_8 AS SELECT {', '.join(columns)} FROM faces")
    con.execute("DROP TABLE faces")
    con.execute("ALTER TABLE faces_8 RENAME TO faces")
    con.execute("UPDATE meta SET value='8' WHERE key='schema_version'")
    con.commit()
    con.close()
    cat = Catalog(path)
    assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert "region_id" in {r[1] for r in cat.db.execute("PRAGMA table_info(faces)")}
    assert cat.file_suggestions() == []
    cat.close()
