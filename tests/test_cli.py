"""The spine through the CLI, run as a user would: index, search, status, model errors."""

from __future__ import annotations

import json
import shutil

from helpers import make_photo, run_cli

from core.model.embedder import DEFAULT_MODEL


def search_json(home, *args, model=None):
    return json.loads(run_cli("search", *args, "--json", home=home, model=model).stdout)


def test_index_search_status_round_trip(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    out = run_cli("index", str(photo_dir), "--json", home=home, model=random_model)
    report = json.loads(out.stdout)
    assert report["found"] == 8 and report["embedded"] == 8 and report["failed"] == 0

    results = search_json(home, "a red circle", "-k", "3")
    assert len(results) == 3
    assert set(results[0]) == {"path", "score", "media_id"}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)

    similar = search_json(home, "--image", str(photo_dir / "red_circle.jpg"), "-k", "1")
    assert similar[0]["path"] == str(photo_dir / "red_circle.jpg")
    assert similar[0]["score"] > 0.999

    status = json.loads(run_cli("status", "--json", home=home).stdout)
    assert status["media_count"] == 8 and status["indexed_count"] == 8
    assert status["model"] == random_model
    assert [f["path"] for f in status["folders"]] == [str(photo_dir)]
    assert status["index"].startswith("ok")

    text = run_cli("search", "red", "-k", "2", home=home).stdout.splitlines()
    assert len(text) == 2 and text[0].split()[0] == "1"


def test_model_is_remembered_by_the_library(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    # no --model: the library's own model is used
    assert len(search_json(home, "blue", "-k", "5")) == 5


def test_nothing_is_written_into_photo_folders(tmp_path, photo_dir, random_model):
    before = sorted((p.relative_to(photo_dir), p.stat().st_mtime_ns) for p in photo_dir.rglob("*"))
    run_cli("index", str(photo_dir), home=tmp_path / "home", model=random_model)
    run_cli("search", "red", home=tmp_path / "home")
    after = sorted((p.relative_to(photo_dir), p.stat().st_mtime_ns) for p in photo_dir.rglob("*"))
    assert before == after


def test_unavailable_default_model_says_so_in_one_line(tmp_path, photo_dir):
    home = tmp_path / "home"
    # the hub points at a closed local port: the download fails at once, without the network
    proc = run_cli("index", str(photo_dir), home=home, check=False,
                   env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0",
                        "HF_HOME": str(tmp_path / "hf")})
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert DEFAULT_MODEL in lines[0] and "local-dir:" in lines[0]
    status = json.loads(run_cli("status", "--json", home=home).stdout)
    assert status["folders"] == [] and status["media_count"] == 0


def test_search_in_an_empty_library_answers_at_once_without_the_model(tmp_path):
    """Before, it loaded the default model first: offline, a download error after 26 s."""
    home = tmp_path / "home"
    # a model that cannot be loaded here: the answer must not need it
    proc = run_cli("search", "red", home=home, model="hf-hub:nobody/not-a-model", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "nothing is indexed yet" in proc.stderr and "snapseek index" in proc.stderr
    proc = run_cli("search", "red", "--json", home=home, model="hf-hub:nobody/not-a-model")
    assert json.loads(proc.stdout) == []


def test_search_with_another_model_is_refused(tmp_path, photo_dir, random_model):
    from helpers import make_random_model

    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    other = make_random_model(tmp_path / "other-model", seed=7)
    proc = run_cli("search", "red", home=home, model=other, check=False)
    assert proc.returncode == 1
    assert "indexed with" in proc.stderr and "snapseek index --model" in proc.stderr
    # the advice names the library's model now, and re-embedding is offered only as a choice
    assert f"search without --model to use {random_model}, the library's model now" in proc.stderr
    # re-embedding with the other model makes it usable, and the results use only its vectors
    run_cli("index", home=home, model=other)
    assert len(search_json(home, "red", "-k", "8", model=other)) == 8


def test_rename_keeps_vector_and_delete_forgets(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    query = str(photo_dir / "green_square.jpg")
    before = search_json(home, "--image", query, "-k", "1")[0]
    shutil.copy(query, tmp_path / "query.jpg")
    (photo_dir / "green_square.jpg").rename(photo_dir / "sub" / "renamed.jpg")
    (photo_dir / "blue_triangle.jpg").unlink()
    report = json.loads(run_cli("index", "--json", home=home).stdout)
    assert report["renamed"] == 1 and report["removed"] == 1 and report["embedded"] == 0
    after = search_json(home, "--image", str(tmp_path / "query.jpg"), "-k", "20")
    assert after[0]["media_id"] == before["media_id"]
    assert after[0]["path"] == str(photo_dir / "sub" / "renamed.jpg")
    assert abs(after[0]["score"] - before["score"]) < 1e-5
    assert all("blue_triangle" not in r["path"] for r in after)
    assert len(after) == 7


def test_garbage_or_missing_index_is_rebuilt_with_same_results(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    expected = search_json(home, "yellow stripe", "-k", "8")
    (index_file,) = home.glob("index-*.hnsw")
    index_file.write_bytes(b"\x00garbage" * 4000)
    assert search_json(home, "yellow stripe", "-k", "8") == expected
    index_file.unlink()
    assert search_json(home, "yellow stripe", "-k", "8") == expected
    assert index_file.exists()
    status = json.loads(run_cli("status", "--json", home=home).stdout)
    assert status["index"].startswith("ok")


def test_new_copy_reuses_vector_and_changed_file_is_reembedded(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    shutil.copy(photo_dir / "red_circle.jpg", photo_dir / "red_circle copy.jpg")
    make_photo(photo_dir / "orange_square.jpg", "green", "triangle", seed=99)
    report = json.loads(run_cli("index", "--json", home=home).stdout)
    assert report["copied"] == 1 and report["changed"] == 1 and report["embedded"] == 1
    hits = search_json(home, "--image", str(photo_dir / "red_circle.jpg"), "-k", "2")
    assert {h["path"] for h in hits} == {str(photo_dir / "red_circle.jpg"),
                                         str(photo_dir / "red_circle copy.jpg")}
    assert abs(hits[0]["score"] - hits[1]["score"]) < 1e-5


def _one_line(proc) -> str:
    """The single non-empty line a misuse must print on stderr (never a traceback)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_k_below_one_is_refused_at_once(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    for k in ("0", "-3"):
        # before, the search paged forever: the timeout makes a hang fail the test
        proc = run_cli("search", "red", "-k", k, home=home, check=False, timeout=60)
        assert proc.returncode == 2, proc.stderr
        line = _one_line(proc)
        assert "-k" in line and "at least 1" in line


def test_unavailable_device_and_bad_threads_say_so_in_one_line(tmp_path, photo_dir,
                                                               random_model):
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    # no GPU visible, whatever the machine has
    no_gpu = {"CUDA_VISIBLE_DEVICES": ""}
    for args in (["search", "red", "--device", "cuda"], ["index", "--device", "cuda"]):
        proc = run_cli(*args, home=home, check=False, env=no_gpu)
        assert proc.returncode != 0
        assert "cuda" in _one_line(proc).lower()
    proc = run_cli("search", "red", "--device", "tpu", home=home, check=False)
    assert proc.returncode != 0 and "tpu" in _one_line(proc)
    for threads in ("-1", "0"):
        proc = run_cli("search", "red", "--threads", threads, home=home, check=False)
        assert proc.returncode == 2
        assert "--threads" in _one_line(proc)
    # what the library holds is untouched: a good search still works
    assert len(search_json(home, "red", "-k", "3")) == 3


def test_missing_query_image_is_named_as_missing(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    proc = run_cli("search", "--image", "typo.jpg", home=home, check=False)
    assert proc.returncode == 1
    line = _one_line(proc)
    assert "no such file: typo.jpg" in line and "vanished" not in line


def test_catalog_errors_are_one_line(tmp_path, photo_dir, random_model):
    import os
    import sqlite3

    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    # a catalog that opens but is not what this version expects: SQLite raises later
    conn = sqlite3.connect(home / "catalog.db")
    conn.execute("ALTER TABLE media DROP COLUMN status")
    conn.commit()
    conn.close()
    for args in (["status"], ["search", "red"]):
        proc = run_cli(*args, home=home, check=False)
        assert proc.returncode == 1
        line = _one_line(proc)
        assert "catalog" in line and "indexed before" not in line
    # with -v, the log has the detail
    proc = run_cli("-v", "status", home=home, check=False)
    assert proc.returncode == 1 and "no such column" in proc.stderr
    # a catalog that is garbage from the first byte
    (home / "catalog.db").write_bytes(os.urandom(64 * 1024))
    for name in ("catalog.db-wal", "catalog.db-shm"):
        (home / name).unlink(missing_ok=True)
    proc = run_cli("status", home=home, check=False)
    assert proc.returncode == 1
    assert "catalog" in _one_line(proc)


def _main(capsys, *argv) -> tuple[int, str]:
    from core import cli

    code = cli.main(list(argv))
    return code, capsys.readouterr().err


def test_index_and_disk_errors_are_one_line_in_process(library, photo_dir, monkeypatch,
                                                       capsys):
    from core.library import Library
    from core.search.index import VectorIndex

    library.add_folder(photo_dir)
    library.update()
    library.close()
    home = str(library.home)

    def broken_knn(self, vector, k):  # what hnswlib raises when it cannot answer
        raise RuntimeError("Cannot return the results in a contiguous 2D array. "
                           "Probably ef or M is too small")

    monkeypatch.setattr(VectorIndex, "knn", broken_knn)
    code, err = _main(capsys, "--home", home, "search", "red")
    assert code == 1 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "contiguous 2D array" in err

    def disk_full(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Library, "search", disk_full)
    code, err = _main(capsys, "--home", home, "search", "red")
    assert code == 1 and "No space left" in err
    assert "indexed before" not in err
    monkeypatch.setattr(Library, "update", disk_full)
    code, err = _main(capsys, "--home", home, "index")
    assert code == 1 and "No space left" in err and "indexed before this is kept" in err


def test_remove_deletes_the_thumbnails_of_forgotten_photos(tmp_path, photo_dir, random_model):
    from helpers import files_under, make_video

    make_video(photo_dir / "clip.mp4", [("red", "circle", 3.0), ("blue", "square", 3.0),
                                        ("green", "stripe", 3.0)])
    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    thumbs = files_under(home / "thumbs")
    assert len(thumbs) > 9  # a thumbnail per photo and per moment of the video
    run_cli("remove", str(photo_dir), home=home)
    assert files_under(home / "thumbs") == []


def test_library_home_is_private(tmp_path, random_model):
    import os
    import stat

    home = tmp_path / "new" / "home"
    old = os.umask(0o022)
    try:
        run_cli("status", home=home)
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_out_of_range_values_get_one_line(tmp_path):
    home = tmp_path / "home"
    for args, said in ((["duplicates", "--threshold", "1.5"], "must be from 0 to 1"),
                       (["duplicates", "--threshold", "nan"], "must be from 0 to 1"),
                       (["watch", "--reconcile-minutes", "0"], "must be more than 0"),
                       (["watch", "--reconcile-minutes", "-5"], "must be more than 0")):
        proc = run_cli(*args, home=home, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert said in proc.stderr and proc.stderr.count("\n") == 1, (args, proc.stderr)


def test_an_error_says_its_words_on_one_line_not_where_a_library_raised_it():
    from core.types import one_line

    openvino = RuntimeError(
        "Exception from src/inference/src/cpp/core.cpp:132:\n"
        "Check 'util::directory_exists(path) || util::file_exists(path)' failed at "
        "src/frontends/common/src/frontend.cpp:117:\n"
        "FrontEnd API failed with GeneralFailure:\n"
        "ir: Could not open the file: \"text.xml\"\n\n")
    assert one_line(openvino) == ('FrontEnd API failed with GeneralFailure: ir: Could not '
                                  'open the file: "text.xml"')
    assert one_line(RuntimeError("one\n two")) == "one two"
    assert len(one_line(RuntimeError("long words " * 100))) == 300
    assert one_line(RuntimeError("")) == "RuntimeError"
