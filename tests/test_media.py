"""Videos as moments, GPS and lens, dates in words, relevance feedback, the schema upgrade."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import numpy as np
import pytest
from helpers import draw_photo, home_holding, make_photo, make_video, run_cli
from PIL import Image

from core.library import Library
from core.query.dates import find_date
from core.search.scoring import group_by_seed, parse_query
from core.types import Query


@pytest.fixture(scope="module")
def video_library(tmp_path_factory, trained_model, trained_runtime):
    """Photos and videos indexed with the trained model: one video goes red circle → blue
    square → green triangle, another is all yellow stripe."""
    root = tmp_path_factory.mktemp("videos")
    folder = root / "Pictures"
    make_video(folder / "holiday.mp4", [("red", "circle", 4), ("blue", "square", 4),
                                        ("green", "triangle", 4)],
               location="+38.7223-009.1393/")
    make_video(folder / "garden.mov", [("yellow", "stripe", 3)], creation_time=None)
    for i, (colour, shape) in enumerate([("blue", "circle"), ("red", "square"),
                                         ("purple", "triangle"), ("orange", "stripe")]):
        make_photo(folder / f"IMG_{i}.jpg", colour, shape, seed=i)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    make_photo(folder / "IMG_LIVE.jpg", "red", "circle", seed=9)
    make_video(folder / "IMG_LIVE.mov", [("red", "circle", 2)])  # a Live Photo's motion part
    home = home_holding(root, trained_runtime)
    run_cli("index", str(folder), home=home, model=trained_model)
    return home, folder


def search(home, text, *args):
    return json.loads(run_cli("search", text, "--json", *args, home=home).stdout)


def test_a_video_is_one_item_whose_best_moment_is_shown(video_library):
    home, folder = video_library
    hits = search(home, "a blue square", "-k", "3")
    top = hits[0]
    assert top["path"].endswith("holiday.mp4") and top["kind"] == "video"
    assert 4 <= top["at_s"] < 8  # the blue square scene, not the start of the video
    assert abs(top["duration_s"] - 12) < 0.5
    green = search(home, "a green triangle", "-k", "1")[0]
    assert green["path"].endswith("holiday.mp4") and 8 <= green["at_s"] < 12
    paths = [h["path"] for h in search(home, "red", "-k", "20")]
    assert len(paths) == len(set(paths))  # several moments match, the video is listed once


def test_video_moments_have_thumbnails_and_metadata(video_library):
    home, folder = video_library
    with Library(home) as lib:
        hit = lib.search(Query.text("a green triangle", k=1))[0]
        assert hit.frame > 0
        thumb = lib.thumbnail(hit.media_id, hit.frame)
        assert thumb is not None and thumb.name == f"{hit.media_id}-{hit.frame}.jpg"
        with Image.open(thumb) as im:  # the thumbnail shows that moment: green
            r, g, b = im.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        assert g > r and g > b
        info = lib.details(hit.media_id)
        assert info["kind"] == "video" and (info["width"], info["height"]) == (192, 144)
        assert (info["gps_lat"], info["gps_lon"]) == (38.7223, -9.1393)
        assert info["taken_source"] == "video" and info["taken_at"] == dt.datetime(
            2021, 7, 14, 10, 30, tzinfo=dt.timezone.utc).timestamp()
        garden = next(r for r in lib.search(Query.text("yellow stripe", k=3))
                      if r.path.endswith("garden.mov"))
        assert lib.details(garden.media_id)["taken_source"] == "file"
        errors = dict(lib.errors())
        assert "video" in errors[str(folder / "broken.mp4")]


def test_duplicate_groups_hold_only_photos_like_their_first(video_library):
    home, folder = video_library
    with Library(home) as lib:
        groups = lib.duplicates(threshold=0.5)
    assert groups
    # neither chains of small steps nor a video's many scenes join unlike photos: each
    # member (a video by its first moment) is that similar to the group's first photo
    assert all(r.score >= 0.5 - 1e-5 for group in groups for r in group)


def test_kind_filter_and_live_photo_pairs(video_library):
    home, folder = video_library
    videos = {h["path"].rsplit("/", 1)[1] for h in search(home, "red", "--kind", "video", "--all")}
    assert videos == {"holiday.mp4", "garden.mov"}  # IMG_LIVE.mov belongs to IMG_LIVE.jpg
    photos = search(home, "red", "--kind", "photo", "-k", "20")
    assert all(h.get("kind") != "video" for h in photos) and len(photos) == 5
    text = run_cli("search", "a green triangle", "-k", "1", home=home).stdout
    assert "holiday.mp4  @ 0:" in text


def test_gps_and_lens_from_exif(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA434] = "XF23mmF2 R WR"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (33.0, 51.0, 21.6), "E", (151.0, 12.0, 54.0)
    draw_photo("red", "circle", (320, 240)).save(folder / "sydney.jpg", exif=exif.tobytes())
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        info = lib.details(lib.recent(1)[0].media_id)
    assert info["lens"] == "XF23mmF2 R WR"
    assert info["gps_lat"] == pytest.approx(-33.856) and info["gps_lon"] == pytest.approx(151.215)


TODAY = dt.date(2026, 11, 24)


@pytest.mark.parametrize("text, rest, label", [
    ("beach last summer", "beach", "Jun 2026 – Aug 2026"),
    ("snow in December 2021", "snow", "Dec 2021"),
    ("photos from 2019", "", "2019"),
    ("dog this winter", "dog", "Dec 2025 – Feb 2026"),
    ("party on 2021-07-14", "party", "2021-07-14"),
    ("kids 2018-2020", "kids", "Jan 2018 – Dec 2020"),
    ("cake yesterday", "cake", "2026-11-23"),
    ("mountains since 2020", "mountains", "since 2020"),
])
def test_dates_in_words_become_a_filter(text, rest, label):
    left, when = find_date(text, TODAY)
    assert (left, when.label) == (rest, label)


def test_a_bare_year_stays_a_word_and_dismissed_dates_stay_words():
    assert find_date("Lisbon 2019", TODAY) == ("Lisbon 2019", None)
    assert find_date("beach last summer", TODAY, frozenset({"last summer"}))[1] is None
    query, when = parse_query("2:beach last summer - people", today=TODAY)
    assert query.texts == [("beach", 2.0), ("people", -1.0)]
    assert query.after == dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()
    assert query.before == dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc).timestamp()


def test_dates_in_the_query_filter_through_the_cli(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for year in (2018, 2019, 2020):
        make_photo(folder / f"{year}.jpg", "red", exif_date=f"{year}:06:01 12:00:00", seed=year)
    make_photo(folder / "dec.jpg", "red", exif_date="2021:12:24 18:00:00", seed=5)
    home = tmp_path / "home"
    run_cli("index", str(folder), home=home, model=random_model)

    def names(text, *args):
        out = json.loads(run_cli("search", text, "--json", "--all", *args, home=home).stdout)
        return sorted(r["path"].rsplit("/", 1)[1] for r in out)

    assert names("red circle in 2019") == ["2019.jpg"]
    assert names("photos from 2019") == ["2019.jpg"]  # a date alone lists what it matches
    assert names("snow in December 2021") == ["dec.jpg"]
    assert names("red 2018-2019") == ["2018.jpg", "2019.jpg"]
    assert len(names("red in 2019", "--no-dates")) == 4
    said = run_cli("search", "red in 2019", home=home).stderr
    assert "taken 2019" in said


def test_relevance_feedback_pulls_towards_good_and_drops_bad(tmp_path, trained_model,
                                                             trained_home):
    folder = tmp_path / "Pictures"
    for i in range(4):
        make_photo(folder / f"red_circle_{i}.jpg", "red", "circle", seed=10 + i)
        make_photo(folder / f"red_square_{i}.jpg", "red", "square", seed=20 + i)
        make_photo(folder / f"blue_circle_{i}.jpg", "blue", "circle", seed=30 + i)
    with Library(trained_home, model=trained_model) as lib:
        lib.add_folder(folder)
        lib.update()

        def ranked(**kw):
            return [r.path.rsplit("/", 1)[1] for r in lib.search(Query(
                texts=[("red", 1.0)], k=12, **kw))]

        by_name = {r.path.rsplit("/", 1)[1]: r.media_id for r in lib.recent(50)}
        before = ranked()
        good = [by_name["red_square_0.jpg"], by_name["red_square_1.jpg"]]
        bad = [by_name["red_circle_0.jpg"]]
        after = ranked(good=good, bad=bad)
        assert "red_circle_0.jpg" in before and "red_circle_0.jpg" not in after
        squares_before = [i for i, n in enumerate(before) if "square" in n]
        squares_after = [i for i, n in enumerate(after) if "square" in n]
        assert squares_after == [0, 1, 2, 3] and squares_before != squares_after
        cli = json.loads(run_cli("search", "red", "--json", "-k", "4", "--good",
                                 str(good[0]), "--bad", str(bad[0]), home=trained_home,
                                 model=trained_model).stdout)
        assert all("square" in r["path"] for r in cli)


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE folders (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE,
    paused INTEGER NOT NULL DEFAULT 0, added_at REAL NOT NULL);
CREATE TABLE media (id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'photo', width INTEGER,
    height INTEGER, taken_at REAL, taken_source TEXT, camera TEXT,
    status TEXT NOT NULL DEFAULT 'pending', error TEXT, added_at REAL NOT NULL);
CREATE TABLE embeddings (media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL, vector BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (media_id, model_id));
INSERT INTO meta VALUES ('schema_version', '1');
"""


def test_a_library_from_the_first_schema_is_upgraded_in_place(tmp_path, photo_dir, random_model):
    home = tmp_path / "home"
    with Library(home, model=random_model) as lib:  # index with today's code, then age it
        lib.add_folder(photo_dir)
        lib.update()
        model_id = lib.embedder.model_id
        want = {r.path: r.score for r in lib.search(Query.text("red", k=8))}
        vectors = lib.catalog.vectors(model_id)[1].copy()
    old = home / "old.db"
    con = sqlite3.connect(old)
    con.executescript(V1_SCHEMA)
    con.execute("ATTACH ? AS new", [str(home / "catalog.db")])
    con.execute("INSERT INTO folders SELECT id, path, paused, added_at FROM new.folders")
    con.execute("INSERT INTO media SELECT id, folder_id, path, size, mtime_ns, content_hash, kind,"
                " width, height, taken_at, taken_source, camera, status, error, added_at "
                "FROM new.media")
    con.execute("INSERT INTO embeddings SELECT media_id, model_id, vector, seq FROM new.embeddings")
    con.execute("INSERT INTO meta SELECT * FROM new.meta WHERE key != 'schema_version'")
    con.commit()
    con.execute("DETACH new")
    con.close()
    old.replace(home / "catalog.db")
    with Library(home, model=random_model) as lib:
        from core.store import SCHEMA_VERSION

        assert lib.catalog.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert np.array_equal(lib.catalog.vectors(model_id)[1], vectors)
        got = {r.path: r.score for r in lib.search(Query.text("red", k=8))}
        assert got.keys() == want.keys()
        # the reopened library asks its exported text tower (weights in fp16), the first asked
        # torch: the same photos, scores within the fp16 weights' difference (about 2e-3)
        assert all(abs(got[p] - want[p]) < 5e-3 for p in want), sorted(
            (round(got[p], 4), round(want[p], 4)) for p in want)
        assert lib.update().embedded == 0  # nothing is embedded twice


def test_near_duplicate_groups_do_not_chain():
    # four photos a small step apart on a circle: 1≈2, 2≈3, 3≈4, but 1 and 3 are not alike
    angle = {1: 0.0, 2: 0.28, 3: 0.56, 4: 0.57}
    vectors = {m: np.array([np.cos(t), np.sin(t)], np.float32) for m, t in angle.items()}
    pairs = [(float(vectors[x] @ vectors[y]), x, y) for x in angle for y in angle if x < y]
    groups = group_by_seed([p for p in pairs if p[0] >= 0.95], vectors, 0.95)
    # one chain through 2 would have grouped all four
    assert groups and not any({1, 3} <= set(g) or {1, 4} <= set(g) for g in groups)
    assert all(float(vectors[m] @ vectors[g[0]]) >= 0.95 for g in groups for m in g)


def test_moments_cover_the_whole_of_long_and_busy_videos(tmp_path):
    from ranking_model import CLASSES

    from core.media.video import MAX_MOMENTS, open_video

    long = make_video(tmp_path / "long.mp4", [("red", "circle", 250), ("blue", "square", 250)],
                      fps=2)
    frames = open_video(long, 64)  # over 8 minutes: sampled by seeking
    assert 2 <= len(frames.times) <= MAX_MOMENTS and frames.times == sorted(frames.times)
    assert frames.times[0] < 30 and frames.times[-1] > 400
    busy = make_video(tmp_path / "busy.mp4",
                      [(c, s, 1.2) for c, s in CLASSES * 8], fps=5)  # 192 scenes in 230 s
    frames = open_video(busy, 64)
    assert len(frames.times) <= MAX_MOMENTS and frames.times[-1] > 210


def test_a_video_damaged_part_way_keeps_the_moments_before_the_damage(tmp_path):
    from core.media.imaging import ImageError
    from core.media.video import open_video

    whole = make_video(tmp_path / "whole.mp4", [("red", "circle", 4), ("blue", "square", 4),
                                                ("green", "stripe", 4)], faststart=True)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])  # the copy stopped at 60 %
    frames = open_video(cut, 64)
    assert frames.times and frames.times[-1] < 8  # the red and blue scenes, not the green
    (tmp_path / "stub.mp4").write_bytes(data[:1000])  # cut inside its header: a clear error
    with pytest.raises(ImageError):
        open_video(tmp_path / "stub.mp4", 64)
