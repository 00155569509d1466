"""Switching a library's model without downtime (issue 13, section 3): the old model answers
every search until the new one has every vector, one transaction flips them, the old vectors
and index file go, a kill anywhere resumes, and photos added meanwhile get both vectors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import ROOT, make_photo, make_random_model, run_cli

from core.library import Library
from core.library.folderwork import FolderWork
from core.types import Notice, Progress, Query

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


@pytest.fixture(scope="module")
def model_b(tmp_path_factory) -> str:
    return make_random_model(tmp_path_factory.mktemp("models") / "tiny-random-b", seed=5)


def photos(folder, n, start=0):
    return [make_photo(folder / f"p{i:03d}.jpg", COLOURS[i % 6], size=(240, 180), seed=i)
            for i in range(start, start + n)]


def indexed_with_a(tmp_path, model_a, n):
    folder = tmp_path / "Pictures"
    photos(folder, n)
    home = tmp_path / "home"
    with Library(home, model=model_a) as lib:
        lib.add_folder(folder)
        lib.update()
        a_id = lib.embedder.model_id
        index_file = lib._index_path(a_id)
        a_bytes = len(lib.catalog.vector_ids(a_id)) * lib.embedder.dim * 4 \
            + index_file.stat().st_size
    return home, folder, a_id, index_file, a_bytes


def test_searches_answer_from_the_old_model_until_the_new_one_is_complete(
        tmp_path, random_model, model_b, monkeypatch):
    monkeypatch.setattr("core.library.switch.CHUNK", 8)
    home, _, a_id, a_file, a_bytes = indexed_with_a(tmp_path, random_model, 40)
    searcher = Library(home)  # another reader, as `snapseek search` without --model is
    query = Query(texts=[("a red circle", 1.0)], k=40)
    before = [(r.media_id, round(r.score, 5)) for r in searcher.search(query)]
    assert len(before) == 40
    seen = []

    def during(event):
        if isinstance(event, Progress) and event.state == "re-embedding":
            b_ids = [m for m in lib.catalog.model_ids() if m != a_id]
            partial = lib.catalog.vector_count(b_ids[0]) if b_ids else 0
            got = [(r.media_id, round(r.score, 5)) for r in searcher.search(query)]
            seen.append((event.done, event.total, event.model, partial, got,
                         searcher.embedder.model_id))

    lib = Library(home, model=model_b)
    notices = []
    lib.subscribe(lambda e: isinstance(e, Notice) and notices.append(e.text))
    lib.subscribe(during)
    try:
        plan = lib.begin_switch()
        assert plan["old_bytes"] == a_bytes and plan["total"] == 40 and plan["done"] == 0
        assert lib.model_spec == random_model  # the library's model answers meanwhile
        lib.update()
        assert lib.model_spec == model_b and lib.switch_target is None
        # re-embedded on the faster runtime, as indexing is
        assert lib.embedder.image_runtime.startswith("openvino"), lib.embedder.image_runtime
    finally:
        lib.close()
    # searched while B was partial: always A's whole answer, never B's part
    assert any(0 < partial < 40 for _, _, _, partial, _, _ in seen)
    for _, total, model, _, got, used in seen:
        assert total == 40 and model == model_b and used == a_id
        assert got == before
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)
    assert any("Now searching with" in n for n in notices)
    searcher.close()
    # B is the library's model; A's vectors and index file are gone
    with Library(home) as after:
        assert after.model_spec == model_b
        b_id = after.embedder.model_id
        assert after.catalog.get_meta("model_id") == b_id
        assert after.catalog.model_ids() == [b_id]
        assert after.catalog.vector_count(b_id) == 40
        assert not a_file.exists()
        assert after.index.ids == set(after.catalog.vector_ids(b_id).tolist())
        assert len(after.search(query)) == 40


def test_a_switch_killed_midway_leaves_the_old_model_answering_and_resumes(
        tmp_path, random_model, model_b):
    home, folder, a_id, a_file, _ = indexed_with_a(tmp_path, random_model, 160)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           "SNAPSEEK_SWITCH_CHUNK": "8", "SNAPSEEK_NO_FACES": "1", "SNAPSEEK_NO_TEXT": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--home", str(home), "--model", model_b, "index"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watcher = Library(home)
    partial = 0
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            b_ids = [m for m in watcher.catalog.model_ids() if m != a_id]
            partial = watcher.catalog.vector_count(b_ids[0]) if b_ids else 0
            if partial >= 16:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    finally:
        watcher.close()
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert b"Re-embedding 160 photos" in err
    with Library(home) as lib:
        b_id = next(m for m in lib.catalog.model_ids() if m != a_id)
        partial = lib.catalog.vector_count(b_id)
        assert 0 < partial < 160, "the kill did not land during the switch"
        # A still answers, whole, and says it is switching
        assert lib.model_spec == random_model and lib.catalog.get_meta("model") == random_model
        assert lib.status()["switching_to"] == model_b
        results = lib.search(Query(texts=[("a blue square", 1.0)], k=200))
        assert len(results) == 160 and lib.embedder.model_id == a_id
        assert lib.index.ids == set(lib.catalog.vector_ids(a_id).tolist())
        kept_seq = lib.catalog.max_seq(b_id)
    # asking for the partial model by name is refused in words, not answered in part
    proc = run_cli("search", "red", home=home, model=model_b, check=False)
    assert proc.returncode == 1 and "being re-embedded" in proc.stderr
    # the next run (no --model needed) resumes: what B had is kept, the rest is made
    run_cli("index", "--no-faces", home=home, env={"SNAPSEEK_SWITCH_CHUNK": "16"})
    with Library(home) as lib:
        assert lib.model_spec == model_b and lib.status()["switching_to"] is None
        b_id = lib.embedder.model_id
        assert lib.catalog.model_ids() == [b_id]
        assert lib.catalog.vector_count(b_id) == 160
        rows = lib.catalog.db.execute(
            "SELECT COUNT(*) FROM embeddings WHERE model_id=? AND seq<=?",
            [b_id, kept_seq]).fetchone()[0]
        assert rows == partial, "vectors made before the kill were made again"
        assert not a_file.exists()
        assert lib.index.ids == set(lib.catalog.vector_ids(b_id).tolist())


def test_photos_added_during_a_switch_get_both_vectors(tmp_path, random_model, model_b,
                                                       monkeypatch):
    monkeypatch.setattr("core.library.switch.CHUNK", 4)
    monkeypatch.setattr(FolderWork, "faces_enabled", False)
    monkeypatch.setattr(FolderWork, "text_enabled", False)
    home, folder, a_id, _, _ = indexed_with_a(tmp_path, random_model, 24)
    lib = Library(home)
    added, answers, a_had_new = [], [], []

    def during(event):  # on the watcher's thread, between two chunks of B
        if not (isinstance(event, Progress) and event.state == "re-embedding"):
            return
        answers.append(len(lib.search(Query(texts=[("a red circle", 1.0)], k=100))))
        if not added:
            for p in photos(folder, 3, start=500):
                added.append(str(p))
                lib.background.queue.add(str(p), now=True)
        else:
            ids = {lib.catalog.media_id_of(p) for p in added}
            a_had_new.append(ids <= set(lib.catalog.vector_ids(a_id).tolist()))

    try:
        plan = lib.switch_model(model_b)
        assert plan and plan["total"] == 24
        lib.subscribe(during)
        lib.start_watching(settle=0.1)
        deadline = time.monotonic() + 180
        while lib.model_spec != model_b and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lib.model_spec == model_b
        b_id = lib.embedder.model_id
        ids = {lib.catalog.media_id_of(p) for p in added}
        assert None not in ids
        assert ids <= set(lib.catalog.vector_ids(b_id).tolist())
        assert lib.catalog.vector_count(b_id) == 27
        assert any(a_had_new), "the new photos were not searchable with A before the switch"
        # every search during the switch saw the whole library through A
        assert answers and all(n in (24, 27) for n in answers)
        assert len(lib.search(Query(texts=[("a red circle", 1.0)], k=100))) == 27
    finally:
        lib.close()


# A reader in another process that opened the library and loaded its model before the flip, and
# searches only once the flip has happened: the moment `snapseek search` meets when a switch
# finishes under it.
STRADDLE = """
import json, sys, time
from core.library import Library
from core.types import Query
home, n = sys.argv[1], int(sys.argv[2])
lib = Library(home)
first = lib.catalog.get_meta("model_id")
lib.embedder  # loaded with the library's model before the flip
print("ready", flush=True)
while lib.catalog.get_meta("model_id") == first:
    time.sleep(0.02)
got = lib.search(Query(texts=[("a red circle", 1.0)], k=n))
print(json.dumps({"n": len(got), "model": lib.embedder.spec}), flush=True)
"""


def test_searches_in_other_processes_never_fail_across_the_switch(tmp_path, random_model,
                                                                  model_b):
    import json
    import threading

    n = 60
    folder = tmp_path / "Pictures"
    photos(folder, n)
    home = tmp_path / "home"
    run_cli("index", "--no-faces", str(folder), home=home, model=random_model)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           "SNAPSEEK_SWITCH_CHUNK": "8", "SNAPSEEK_NO_FACES": "1", "SNAPSEEK_NO_TEXT": "1"}
    straddle = subprocess.Popen([sys.executable, "-c", STRADDLE, str(home), str(n)], env=env,
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    assert straddle.stdout.readline().strip() == "ready", straddle.stderr.read()
    switch = subprocess.Popen([sys.executable, "-m", "core.cli", "--home", str(home), "--model",
                               model_b, "index"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    answers: list[tuple[int, int, str]] = []  # (exit code, results, stderr)

    def search_until_switched() -> None:  # `snapseek search` as a person types it, no --model
        after = 0
        while after < 2:  # and twice more once the switch has ended
            if switch.poll() is not None:
                after += 1
            proc = subprocess.run([sys.executable, "-m", "core.cli", "--home", str(home),
                                   "search", "a red circle", "--json", "-k", str(n)], env=env,
                                  cwd=ROOT, capture_output=True, text=True, timeout=300)
            got = json.loads(proc.stdout) if proc.returncode == 0 else []
            answers.append((proc.returncode, len(got), proc.stderr.strip()[-500:]))

    loops = [threading.Thread(target=search_until_switched) for _ in range(2)]
    for loop in loops:
        loop.start()
    out, err = switch.communicate(timeout=600)
    assert switch.returncode == 0, err
    for loop in loops:
        loop.join(timeout=600)
    out, err = straddle.communicate(timeout=300)
    assert straddle.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1]) == {"n": n, "model": model_b}
    assert len(answers) >= 4
    bad = [a for a in answers if a[0] != 0 or a[1] != n]
    assert not bad, bad


@pytest.mark.parametrize("answer", ["explain", "duplicates"])
def test_explain_and_duplicates_wait_for_a_flip_in_progress(tmp_path, random_model, answer):
    """Before, explain and duplicates skipped the lock a flip takes: during a switch-over
    either could mix the two models' vectors. They answer before or after a flip, never in it."""
    import threading

    home, folder, _, _, _ = indexed_with_a(tmp_path, random_model, 6)
    with Library(home) as lib:
        lib.load_model()  # loaded before, as a running app has it
        ask = {"explain": lambda: lib.explain(str(next(folder.glob("*.jpg"))),
                                              Query.text("red")),
               "duplicates": lambda: lib.duplicates()}[answer]
        answered = threading.Event()
        with lib.flipping():
            worker = threading.Thread(target=lambda: (ask(), answered.set()))
            worker.start()
            # the answer is held while the flip holds its lock (it finishes at once without)
            assert not answered.wait(2)
        worker.join(60)
        assert answered.is_set()


def test_a_model_taken_by_a_library_with_no_vectors_is_not_undone_by_a_search(
        tmp_path, random_model, model_b):
    """The app (opened without naming a model) takes the model chosen in Settings before any
    photo is embedded: its next search must not go back to the model the catalog names."""
    folder = tmp_path / "Pictures"
    photos(folder, 3)
    home = tmp_path / "home"
    with Library(home, model=random_model) as first:
        first.remember_model()  # the catalog names A; no photo has a vector yet
    with Library(home) as lib:
        lib.add_folder(folder)
        lib.scan()  # catalogued, not embedded
        assert lib.switch_model(model_b) is None  # nothing to re-embed: B is taken at once
        assert lib.model_spec == model_b
        lib.search(Query.text("red"))
        assert lib.model_spec == model_b
