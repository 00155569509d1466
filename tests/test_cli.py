"""The spine through the CLI, run as a user would: index, search, status, model errors."""

from __future__ import annotations

import json
import shutil

from core.embedder import DEFAULT_MODEL
from helpers import make_photo, run_cli


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


def test_search_with_another_model_is_refused(tmp_path, photo_dir, random_model):
    from helpers import make_random_model

    home = tmp_path / "home"
    run_cli("index", str(photo_dir), home=home, model=random_model)
    other = make_random_model(tmp_path / "other-model", seed=7)
    proc = run_cli("search", "red", home=home, model=other, check=False)
    assert proc.returncode == 1
    assert "indexed with" in proc.stderr and "snapseek index --model" in proc.stderr
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
