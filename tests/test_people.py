"""People: the second pass over a library, faces sorted into people, names and corrections
that survive re-clustering, --person search, crash safety and bad input."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, make_photo, run_cli
from PIL import Image, ImageEnhance
from test_faces import astronaut, grace_hopper

from core.library import Library
from core.types import Query, SnapseekError


def write_people(folder: Path, copies: int = 1) -> dict[str, str]:
    """Photos of Eileen Collins and Grace Hopper (flipped, scaled, darker, cropped) and two
    without a face; path → who."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for who, im in (("eileen", astronaut()), ("grace", grace_hopper())):
        shots = {
            "a": im,
            "flip": im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            "big": ImageEnhance.Brightness(im).enhance(0.7).resize((im.width * 2, im.height * 2)),
            "crop": im.crop((im.width // 8, 0, im.width * 7 // 8, im.height * 3 // 4)),
        }
        for n in range(copies):
            for kind, shot in shots.items():
                path = folder / f"{who}_{kind}_{n}.jpg"
                # copies differ in contrast and size, like photos taken a moment apart
                copy = ImageEnhance.Contrast(shot).enhance(1 + 0.1 * n)
                copy.resize((copy.width * (10 + n) // 10, copy.height * (10 + n) // 10)).save(
                    path, quality=92)
                truth[str(path)] = who
    for i, colour in enumerate(("red", "blue")):
        truth[str(make_photo(folder / f"nobody_{colour}.jpg", colour, seed=i))] = "nobody"
    return truth


def people_library(home: Path, folder: Path, model: str, leave_out: tuple[str, ...] = (),
                   runtime: Path | None = None):
    """A library of write_people's photos (but those left out), indexed and with its faces
    found: Eileen and Grace in four photos each. `runtime`: the model's towers exported
    already (conftest's exported_runtime), copied in instead of exported again."""
    import shutil

    from core.library import Library

    write_people(folder)
    for gone in leave_out:
        (folder / gone).unlink()
    lib = Library(home, model=model)
    if runtime is not None:
        shutil.copytree(runtime, home / "runtime")
    lib.add_folder(folder)
    lib.update()
    lib.enrich()
    return lib


def both(folder: Path) -> Path:
    """One photo with both of them, side by side."""
    a, g = astronaut(), grace_hopper().resize((436, 512))
    pair = Image.new("RGB", (a.width + g.width, 512), "white")
    pair.paste(a, (0, 0))
    pair.paste(g, (a.width, 0))
    path = folder / "together.jpg"
    pair.save(path, quality=92)
    return path


def bcubed(clusters: dict[str, int], truth: dict[str, str]) -> tuple[float, float]:
    """BCubed precision and recall of photo → cluster against photo → person."""
    items = list(clusters)
    precision = sum(
        sum(1 for o in items if clusters[o] == clusters[i] and truth[o] == truth[i])
        / sum(1 for o in items if clusters[o] == clusters[i]) for i in items) / len(items)
    recall = sum(
        sum(1 for o in items if clusters[o] == clusters[i] and truth[o] == truth[i])
        / sum(1 for o in items if truth[o] == truth[i]) for i in items) / len(items)
    return precision, recall


@pytest.fixture
def people_lib(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    truth = write_people(folder)
    lib = Library(tmp_path / "home", model=random_model)
    lib.add_folder(folder)
    lib.update()
    done, failed, stopped = lib.enrich()
    assert (done, failed, stopped) == (len(truth), 0, False)
    yield lib, folder, truth
    lib.close()


def eileen_and_grace(lib):
    """The two people, told apart by the names of their photos."""
    return sorted(lib.people(), key=lambda p: any(
        "grace_" in Path(r.path).name for r in lib.person_photos(p.id)))


def clusters_of(lib) -> dict[str, int]:
    return {r.path: p.id for p in lib.people() for r in lib.person_photos(p.id)}


def test_same_person_together_different_people_apart(people_lib):
    lib, _, truth = people_lib
    people = lib.people()
    assert len(people) == 2
    clusters = clusters_of(lib)
    assert {truth[p] for p in clusters} == {"eileen", "grace"}
    assert len(clusters) == 8  # every photo of a face is in a person, and none without one
    assert bcubed(clusters, truth) == (1.0, 1.0)


def test_new_photos_join_their_person_without_reclustering(people_lib):
    lib, folder, _ = people_lib
    before = {p.id: p.photos for p in lib.people()}
    grace = eileen_and_grace(lib)[1].id
    im = grace_hopper()
    ImageEnhance.Contrast(im).enhance(1.3).save(folder / "grace_new.jpg", quality=90)
    lib.update()
    assert lib.enrich()[:2] == (1, 0)
    after = {p.id: p.photos for p in lib.people()}
    assert set(after) == set(before)
    assert after[grace] == before[grace] + 1


def test_a_new_enricher_version_runs_only_again_and_keeps_names(people_lib, monkeypatch):
    lib, _, truth = people_lib
    person = lib.people()[0].id
    lib.name_person(person, "Someone")
    assert lib.enrich()[:2] == (0, 0)  # nothing new: nothing redone
    from core.people import faces

    monkeypatch.setattr(faces.FaceEnricher, "version", faces.VERSION + 1)
    assert lib.enrich()[:2] == (len(truth), 0)
    assert lib.catalog.person(person).name == "Someone"
    assert lib.catalog.person(person).photos == 4  # the faces found again kept their person


def test_naming_merging_and_moving_survive_a_recluster(people_lib):
    lib, _, truth = people_lib
    eileen, grace = eileen_and_grace(lib)
    lib.name_person(grace.id, "Grace Hopper")
    # "not this person" on one of Eileen's faces
    face = lib.person_faces(eileen.id)[0]
    assert lib.not_this_person(face.id) == eileen.id
    moved = lib.catalog.media_rows([face.media_id])[face.media_id][0]
    stats = lib.recluster()
    assert stats["people"] == 2
    assert lib.catalog.person(grace.id).name == "Grace Hopper"
    assert lib.catalog.person(grace.id).photos == 4
    assert moved not in [r.path for r in lib.person_photos(eileen.id)]  # stays out
    assert lib.catalog.person(eileen.id).photos == 3
    # merging: one person with both their faces, named, also after a recluster
    lib.merge_people(grace.id, eileen.id)
    lib.recluster()
    people = lib.people()
    assert [(p.id, p.name, p.photos) for p in people] == [(grace.id, "Grace Hopper", 7)]
    # hiding: gone from the list, still there
    lib.hide_person(grace.id)
    assert lib.people() == [] and lib.people(hidden=True)[0].id == grace.id


def test_recluster_from_nothing_finds_the_same_people(people_lib):
    lib, _, truth = people_lib
    before = clusters_of(lib)
    lib.catalog.set_face_people({f: None for f in lib.catalog.face_vectors()[0].tolist()}, [])
    assert lib.people() == []
    lib.recluster()
    after = clusters_of(lib)
    assert set(after) == set(before) and bcubed(after, truth) == (1.0, 1.0)


def test_person_search_and_names_in_the_query(people_lib):
    lib, folder, truth = people_lib
    pair = both(folder)
    lib.update()
    lib.enrich()
    eileen, grace = eileen_and_grace(lib)
    lib.name_person(grace.id, "Grace")
    lib.name_person(eileen.id, "Eileen")
    alone = lib.search(Query(persons=["grace"], k=50))  # any case
    assert {r.path for r in alone} == {p for p, w in truth.items() if w == "grace"} | {str(pair)}
    dates = [r.taken_at for r in alone]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert [r.path for r in lib.search(Query(persons=["Grace", "eileen"], k=50))] == [str(pair)]
    with pytest.raises(SnapseekError, match="No person is named 'Tom'"):
        lib.search(Query(persons=["Tom"]))
    # typed: "Grace and Eileen" are filters, the rest of the words the query
    from core.search.scoring import parse_query

    query, _ = parse_query("Grace and Eileen at the beach", people=lib.person_names())
    assert query.who.names() == ("Grace", "Eileen") and query.texts == [("at the beach", 1.0)]
    assert [r.path for r in lib.search(query)] == [str(pair)]


def test_cli_people_and_person_search(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    truth = write_people(folder)
    home = tmp_path / "home"
    out = json.loads(run_cli("index", str(folder), "--json", home=home, model=random_model).stdout)
    assert out["faces_done"] == len(truth) and out["people"] == 2
    people = json.loads(run_cli("people", "--json", home=home).stdout)
    assert [sorted(p) for p in people] == [["count", "hidden", "id", "name", "paths"]] * 2
    assert [p["count"] for p in people] == [4, 4] and all(p["name"] is None for p in people)
    grace = next(p for p in people if "grace" in p["paths"][0])
    run_cli("people", "name", str(grace["id"]), "Grace", "Hopper", home=home)
    found = json.loads(run_cli("search", "--person", "grace hopper", "-k", "50", "--json",
                               home=home).stdout)
    assert sorted(r["path"] for r in found) == sorted(grace["paths"])
    typed = json.loads(run_cli("search", "Grace Hopper", "-k", "50", "--json", home=home).stdout)
    assert sorted(r["path"] for r in typed) == sorted(grace["paths"])
    other = next(p for p in people if p is not grace)
    run_cli("people", "merge", str(grace["id"]), str(other["id"]), home=home)
    assert json.loads(run_cli("people", "recluster", "--json", home=home).stdout)["people"] == 1
    bad = run_cli("people", "merge", "1", home=home, check=False)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    bad = run_cli("search", "--person", "Nobody", home=home, check=False)
    assert bad.returncode == 1 and "No person is named 'Nobody'" in bad.stderr
    # --no-faces: the second pass is left for later
    make_photo(folder / "later.jpg", "green", seed=7)
    out = json.loads(run_cli("index", "--no-faces", "--json", home=home).stdout)
    assert "faces_done" not in out and out["new"] == 1


def test_forgetting_a_folder_forgets_its_faces_and_crops(people_lib):
    lib, folder, _ = people_lib
    crops = list(lib.thumbs.rglob("*-face*.jpg"))
    assert len(crops) == 8
    assert lib.face_crop(lib.person_faces(lib.people()[0].id)[0]) in crops
    lib.remove_folder(folder)
    assert list(lib.thumbs.rglob("*.jpg")) == []
    db = lib.catalog.db
    assert db.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM enrich_runs").fetchone()[0] == 0
    assert lib.people() == []


def test_a_deleted_photo_loses_its_faces_at_the_next_scan(people_lib):
    lib, folder, _ = people_lib
    gone = folder / "grace_flip_0.jpg"
    media_id = lib.catalog.media_under(lib.folders()[0].id, str(gone))[str(gone)].id
    gone.unlink()
    lib.scan()
    assert lib.catalog.media_faces(media_id) == []
    assert not list(lib.thumbs.rglob(f"{media_id}-*"))


def test_bad_input_in_the_second_pass(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    write_people(folder)
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        # after the first pass: one photo becomes unreadable, one vanishes, one is forgotten
        # while the second pass looks at it
        (folder / "eileen_a_0.jpg").write_bytes(b"not a picture any more")
        (folder / "grace_a_0.jpg").unlink()
        target = folder / "grace_big_0.jpg"
        target_id = lib.catalog.media_under(lib.folders()[0].id, str(target))[str(target)].id
        from core.folders import enrich

        real = enrich.EnrichPass._pictures

        def forgotten_meanwhile(self, item):
            pictures = real(self, item)
            if item.media_id == target_id:
                with self.catalog.write() as w:
                    w.execute("DELETE FROM media WHERE id=?", [target_id])
            return pictures

        enrich.EnrichPass._pictures = forgotten_meanwhile
        try:
            done, failed, _ = lib.enrich()
        finally:
            enrich.EnrichPass._pictures = real
        assert (done, failed) == (8, 2)
        notes = dict(lib.catalog.db.execute(
            "SELECT m.path, r.note FROM enrich_runs r JOIN media m ON m.id=r.media_id "
            "WHERE r.note IS NOT NULL").fetchall())
        assert set(notes) == {str(folder / "eileen_a_0.jpg"), str(folder / "grace_a_0.jpg")}
        assert all(n.startswith("unreadable: ") and "\n" not in n for n in notes.values())
        assert lib.catalog.media_faces(target_id) == []
        assert not list(lib.thumbs.rglob(f"{target_id}-*"))
        assert lib.enrich()[:2] == (0, 0)  # recorded: not tried again and again


def test_video_moments_are_looked_at(tmp_path, random_model):
    from helpers import make_video

    folder = tmp_path / "Pictures"
    make_video(folder / "clip.mp4", [("red", "circle", 1.0), ("blue", "square", 1.0)])
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        assert lib.enrich()[:2] == (1, 0)
        runs = lib.catalog.db.execute(
            "SELECT enricher, note FROM enrich_runs WHERE enricher='faces'").fetchall()
        assert runs == [("faces", None)]  # its moments were read, none failed


def _start_index(home, model, folder) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--home", str(home), "--model", model, "index",
         str(folder)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _faces_by_photo(home, model) -> dict[str, list[tuple]]:
    with Library(home, model=model) as lib:
        rows = lib.catalog.db.execute(
            "SELECT m.path, f.frame, f.idx, f.sortable FROM faces f JOIN media m "
            "ON m.id=f.media_id ORDER BY m.path, f.frame, f.idx").fetchall()
        ran = {r[0] for r in lib.catalog.db.execute(
            "SELECT m.path FROM enrich_runs r JOIN media m ON m.id=r.media_id")}
    out: dict[str, list[tuple]] = {}
    for path, *face in rows:
        out.setdefault(path, []).append(tuple(face))
    # faces are written with the record that their photo was looked at, never apart
    assert set(out) <= ran, set(out) - ran
    return out


@pytest.mark.timeout(900)
def test_second_pass_survives_kill_9(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    write_people(folder, copies=4)
    reference = tmp_path / "reference"
    run_cli("index", str(folder), home=reference, model=random_model)
    expected = _faces_by_photo(reference, random_model)
    home = tmp_path / "home"
    run_cli("index", "--no-faces", str(folder), home=home, model=random_model)
    rnd = random.Random(16)
    for _ in range(4):
        proc = _start_index(home, random_model, folder)
        time.sleep(rnd.uniform(4.0, 9.0))  # the interpreter and torch start, then faces
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode(errors="replace")
        got = _faces_by_photo(home, random_model)
        for path, found in got.items():
            assert found == expected[path], path  # nothing doubled, nothing half-written
    run_cli("index", str(folder), home=home, model=random_model)
    assert _faces_by_photo(home, random_model) == expected
    people = json.loads(run_cli("people", "--json", home=home).stdout)
    assert sorted(p["count"] for p in people) == [16, 16]


def test_the_app_finds_faces_when_indexing_is_idle(tmp_path, random_model):
    """The background indexer runs the second pass once the first has nothing to do, and
    stops it between photos when a change arrives."""
    from core.types import Progress

    folder = tmp_path / "Pictures"
    truth = write_people(folder)
    states = []
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.subscribe(lambda e: isinstance(e, Progress) and states.append((e.state, e.done)))
        lib.add_folder(folder)
        lib.start_watching(settle=0.2)
        deadline = time.monotonic() + 120
        while len(lib.people()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert bcubed(clusters_of(lib), truth) == (1.0, 1.0)
        faces_at = [i for i, (state, _) in enumerate(states) if state == "finding faces"]
        indexing_at = [i for i, (state, _) in enumerate(states) if state == "indexing"]
        assert faces_at and indexing_at and max(indexing_at) < min(faces_at)
        # and once the pass is over the app is told all is done (its status line then says so,
        # instead of "Looking for faces and text: 8 of 8" for good)
        deadline = time.monotonic() + 30
        while states[-1][0] != "idle" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert states[-1][0] == "idle", states[-3:]
        # a new photo: indexed first, then looked at
        grace_hopper().save(folder / "grace_later.jpg", quality=90)
        deadline = time.monotonic() + 60
        while max(p.photos for p in lib.people()) < 5:  # sorted after its batch
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert lib.enrich_pending() == 0 and lib.status()["indexed_count"] == len(truth) + 1
        assert sorted(p.photos for p in lib.people()) == [4, 5]
