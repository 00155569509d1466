"""Phone and camera formats, photo dates, filters and near-duplicates (CLI and core)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from PIL import Image

from core.library import Library
from core.types import Query
from helpers import draw_photo, make_photo, run_cli


@pytest.fixture
def formats_dir(tmp_path):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    folder = tmp_path / "Phone"
    folder.mkdir()
    draw_photo("red", "circle", (400, 300), seed=1).save(folder / "IMG_0001.heic", quality=90)
    draw_photo("blue", "square", (400, 300), seed=2).save(folder / "IMG_0002.avif", quality=90)
    make_photo(folder / "DSC_0003.jpg", "green", "triangle", seed=3)
    (folder / "DSC_0003.NEF").write_bytes(b"raw sensor data" * 100)  # developed as the JPEG
    (folder / "DSC_0004.dng").write_bytes(b"not really raw" * 100)
    draw_photo("yellow", "stripe", (400, 300), seed=4).save(folder / "scan.png")  # no EXIF
    return folder


def test_heic_avif_and_raw_pairs(formats_dir, tmp_path, random_model):
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(formats_dir)
        report = lib.update()
        paths = {r.path for r in lib.search(Query.text("x", k=50))}
        names = {p.rsplit("/", 1)[1] for p in paths}
        assert names == {"IMG_0001.heic", "IMG_0002.avif", "DSC_0003.jpg", "scan.png"}
        assert report.scan.found == 5  # the NEF beside its JPEG is one photo, not two
        assert "not a readable RAW" in dict(lib.errors())[str(formats_dir / "DSC_0004.dng")]
        draw_photo("red", "circle", (400, 300), seed=1).save(tmp_path / "q.png")
        assert lib.search(Query.image(tmp_path / "q.png", k=1))[0].path.endswith(".heic")


def test_exif_date_with_offset_and_subseconds_and_mtime_fallback(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2019:08:03 17:45:10"
    sub[0x9011] = "+02:00"
    sub[0x9291] = "25"
    draw_photo("red", "circle", (320, 240)).save(folder / "lisbon.jpg", exif=exif.tobytes())
    draw_photo("blue", "circle", (320, 240)).save(folder / "undated.png")
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        rows = dict(lib.catalog.db.execute(
            "SELECT path, taken_at || '|' || taken_source FROM media").fetchall())
    want = dt.datetime(2019, 8, 3, 17, 45, 10, 250000,
                       tzinfo=dt.timezone(dt.timedelta(hours=2))).timestamp()
    taken, source = rows[str(folder / "lisbon.jpg")].split("|")
    assert abs(float(taken) - want) < 1e-3 and source == "exif"
    taken, source = rows[str(folder / "undated.png")].split("|")
    assert source == "mtime" and abs(float(taken) - (folder / "undated.png").stat().st_mtime) < 1


def test_filters_and_date_sort_through_the_cli(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for year, colour in [(2018, "red"), (2019, "red"), (2020, "red"), (2021, "blue")]:
        make_photo(folder / f"{year}.jpg", colour, exif_date=f"{year}:06:01 12:00:00", seed=year)
    home = tmp_path / "home"
    run_cli("index", str(folder), home=home, model=random_model)

    def names(*args):
        out = json.loads(run_cli("search", "red", "--json", *args, home=home).stdout)
        return [r["path"].rsplit("/", 1)[1] for r in out]

    assert set(names("--after", "2019", "--before", "2021")) == {"2019.jpg", "2020.jpg"}
    assert names("--after", "2019", "--before", "2021", "-k", "1") in (["2019.jpg"], ["2020.jpg"])
    assert names("--sort", "date") == ["2021.jpg", "2020.jpg", "2019.jpg", "2018.jpg"]
    assert len(names("--camera", "synthetic")) == 4 and names("--camera", "leica") == []
    assert len(names("--kind", "photo")) == 4 and names("--kind", "raw") == []
    bad = run_cli("search", "red", "--after", "last summer", home=home, check=False)
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_duplicates_groups_near_identical_photos_and_deletes_nothing(tmp_path, trained_model):
    folder = tmp_path / "Pictures"
    original = make_photo(folder / "beach.jpg", "blue", "stripe", size=(800, 600), seed=1)
    with Image.open(original) as im:
        im.resize((400, 300)).save(folder / "beach-small.jpg", quality=70)
    make_photo(folder / "other.jpg", "red", "circle", seed=2)
    make_photo(folder / "third.jpg", "yellow", "triangle", seed=3)
    home = tmp_path / "home"
    run_cli("index", str(folder), home=home, model=trained_model)
    groups = json.loads(run_cli("duplicates", "--json", "--threshold", "0.98", home=home).stdout)
    assert len(groups) == 1
    assert {r["path"].rsplit("/", 1)[1] for r in groups[0]} == {"beach.jpg", "beach-small.jpg"}
    assert len(list(folder.iterdir())) == 4


def test_words_in_file_and_folder_names_lift_results(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for i in range(6):
        make_photo(folder / "misc" / f"IMG_{i:03d}.jpg", "red", "circle", seed=i)
    make_photo(folder / "Lisbon 2019" / "tram.jpg", "blue", "square", seed=50)
    make_photo(folder / "Lisbon 2019" / "IMG_120.jpg", "green", "stripe", seed=51)
    make_photo(folder / "Porto" / "summer party.jpg", "yellow", "circle", seed=52)
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()

        def names(text, k=3):
            return [r.path.split("/Pictures/")[1] for r in lib.search(Query.text(text, k=k))]

        assert set(names("Lisbon 2019", k=2)) == {"Lisbon 2019/tram.jpg", "Lisbon 2019/IMG_120.jpg"}
        assert names("tram in lisbon", k=1) == ["Lisbon 2019/tram.jpg"]
        assert names('"summer party"', k=5) == ["Porto/summer party.jpg"]
        assert names("name:img_12", k=5) == ["Lisbon 2019/IMG_120.jpg"]
        assert sorted(names("red path:misc", k=10)) == [f"misc/IMG_{i:03d}.jpg" for i in range(6)]
