"""One search box for everything a photo knows: places, text in the photo, names and keywords
blended with the model's similarity; the relevant set; newest first."""

from __future__ import annotations

import pytest
from helpers import draw_photo, make_photo, run_cli
from PIL import Image

from core.library import Library
from core.types import Query

CITIES = {"lisbon": (38.7223, -9.1393), "reykjavik": (64.1466, -21.9426),
          "paris": (48.8566, 2.3522)}


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    return (float(d), float(m), round((value - d - m / 60) * 3600, 2))


def gps_photo(path, lat, lon, colour="red", shape="circle", seed=0, date=None):
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(lat)
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(lon)
    if date:
        exif.get_ifd(0x8769)[0x9003] = date
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_photo(colour, shape, (480, 360), seed=seed).save(path, exif=exif.tobytes())
    return path


def travel_photos(folder, others: int = 6, colours=("yellow",)) -> None:
    """Three photos in each city (neutral names, IMG_<city><n>: red, blue, green circles) and
    `others` squares without GPS (DSC_<n>)."""
    for i, city in enumerate(CITIES):
        for j in range(3):
            gps_photo(folder / f"IMG_{i}{j}.jpg", *CITIES[city], seed=10 * i + j,
                      colour=("red", "blue", "green")[j], shape="circle")
    for i in range(others):
        make_photo(folder / f"DSC_{i:02d}.jpg", colours[i % len(colours)], "square",
                   seed=100 + i)


@pytest.fixture
def travels(tmp_path, trained_model, trained_home):
    """Photos with GPS in three cities, and others without."""
    folder = tmp_path / "Pictures"
    travel_photos(folder)
    lib = Library(trained_home, model=trained_model)
    lib.add_folder(folder)
    lib.update()
    yield lib, folder
    lib.close()


def test_places_from_gps_are_found_by_city_country_and_place_filter(travels):
    lib, folder = travels
    assert {name for name, _ in lib.places()} >= {"Lisbon", "Reykjavík", "Paris", "Portugal",
                                                 "Iceland", "France"}
    for place, prefix in (("Lisbon", "IMG_0"), ("portugal", "IMG_0"), ("REYKJAVIK", "IMG_1"),
                          ("Iceland", "IMG_1"), ("paris", "IMG_2")):
        got = lib.search(Query(place=place, k=50))
        assert sorted(r.path.rsplit("/", 1)[-1][:5] for r in got) == [prefix] * 3, place
    # a place typed in the query is a filter, the rest of the words rank within it
    from core.search.scoring import parse_query

    query, _ = parse_query("a blue circle in Lisbon", k=3, places=lib.place_names())
    assert query.place == "Lisbon" and query.texts == [("a blue circle", 1.0)]
    got = lib.search(query)
    assert got[0].path.endswith("IMG_01.jpg") and len(got) == 3


def test_places_through_the_cli(travels):
    lib, folder = travels
    home = lib.home
    lib.close()
    import json

    def names(*args):
        out = run_cli("search", *args, "--json", home=home).stdout
        return sorted(r["path"].rsplit("/", 1)[-1] for r in json.loads(out))

    assert names("--place", "iceland") == ["IMG_10.jpg", "IMG_11.jpg", "IMG_12.jpg"]
    assert names("photos in Portugal") == ["IMG_00.jpg", "IMG_01.jpg", "IMG_02.jpg"]
    info = json.loads(run_cli("info", str(folder / "IMG_20.jpg"), "--json", home=home).stdout)
    assert info[0]["place"]["city"] == "Paris" and info[0]["place"]["country"] == "France"


def sign_photo(path, words, seed=0):
    from test_ocr import sign

    path.parent.mkdir(parents=True, exist_ok=True)
    sign(words, size=(1600, 1200)).save(path, quality=92)
    return path


def test_words_on_signs_are_found_whole_and_in_part_and_lift_the_photo(tmp_path, trained_model,
                                                                      trained_home):
    folder = tmp_path / "Pictures"
    sign_photo(folder / "IMG_9001.jpg", ["INVOICE 4471"])
    sign_photo(folder / "IMG_9002.jpg", ["PLATFORM 9"])
    for i in range(8):
        make_photo(folder / f"IMG_{i:04d}.jpg", "green", "square", seed=200 + i)
    with Library(trained_home, model=trained_model) as lib:
        lib.add_folder(folder)
        lib.update()
        lib.enrich()
        assert "INVOICE" in " ".join(lib.photo_text(lib.search(Query.text("4471", k=1))[0]
                                                    .media_id))
        for typed, wanted in (("invoice", "IMG_9001"), ("4471", "IMG_9001"),
                              ("invoice 4471", "IMG_9001"), ("Invo", "IMG_9001"),
                              ("platform", "IMG_9002")):
            got = lib.search(Query.text(typed, k=5))
            # the tiny model knows nothing of words: the text in the picture puts it first
            assert got[0].path.endswith(wanted + ".jpg"), (typed, [r.path for r in got])
        # a green square query still finds green squares first: words only lift
        got = lib.search(Query.text("a green square", k=3))
        assert all("IMG_90" not in r.path for r in got)


def test_a_photo_holding_every_typed_word_comes_strictly_first(tmp_path, trained_model,
                                                               trained_home):
    """Before, a photo holding the word was lifted to the top score, not above it: it tied with
    the most similar photo, and the tie went to the lower media id (the other photo)."""
    from ranking_model import CLASSES

    folder = tmp_path / "Pictures"
    for i in range(12):  # named to come first: lower media ids than the sign
        colour, shape = CLASSES[i % len(CLASSES)]
        make_photo(folder / f"IMG_{i:04d}.jpg", colour, shape, seed=700 + i)
    sign_photo(folder / "IMG_9001.jpg", ["HOTEL MIRAMAR"])
    with Library(trained_home, model=trained_model) as lib:
        lib.add_folder(folder)
        lib.update()
        lib.enrich()
        for typed in ("miramar", "hotel", "hotel miramar", "Mira"):
            for k in (3, 6, 12, None):
                got = lib.search(Query.text(typed, k=k))
                assert got[0].path.endswith("IMG_9001.jpg"), (typed, k, [r.path for r in got])
                assert len(got) == 1 or got[0].score > got[1].score, (typed, k, got[:2])


def test_the_relevant_set_and_newest_first(tmp_path, trained_model, trained_home):
    folder = tmp_path / "Pictures"
    for i in range(5):
        make_photo(folder / f"a{i}.jpg", "purple", "triangle", seed=300 + i,
                   exif_date=f"201{i}:06:01 12:00:00")
    for i, (colour, shape) in enumerate([("red", "circle"), ("blue", "square"),
                                         ("green", "stripe"), ("yellow", "circle"),
                                         ("orange", "square"), ("blue", "circle"),
                                         ("red", "stripe"), ("green", "circle")] * 3):
        make_photo(folder / f"b{i:02d}.jpg", colour, shape, seed=400 + i)
    with Library(trained_home, model=trained_model) as lib:
        lib.add_folder(folder)
        lib.update()
        got = lib.search(Query(texts=[("a purple triangle", 1.0)], k=None))
        names = [r.path.rsplit("/", 1)[-1] for r in got]
        assert sorted(names) == [f"a{i}.jpg" for i in range(5)], names  # no more, no less
        dated = lib.search(Query(texts=[("a purple triangle", 1.0)], k=None, sort="date"))
        assert [r.path.rsplit("/", 1)[-1] for r in dated] == [f"a{i}.jpg" for i in
                                                            (4, 3, 2, 1, 0)]
        assert len(lib.search(Query(texts=[("a purple triangle", 1.0)], k=12))) == 12


def test_explain_says_why_and_where(tmp_path, trained_model, trained_home):
    import json

    import numpy as np
    from test_explain import _two_objects

    folder = tmp_path / "Lisbon trip"
    folder.mkdir()
    _two_objects().save(folder / "circle and square.jpg", quality=95)
    home = trained_home
    run_cli("index", str(folder), "--no-faces", home=home, model=trained_model)
    photo = str(folder / "circle and square.jpg")
    out = tmp_path / "why.png"
    why = json.loads(run_cli("explain", photo, "a red circle lisbon", "--json", "--out", str(out),
                             home=home).stdout)
    assert set(why) == {"score", "words", "chips", "grid", "people"}
    assert why["words"] == {"name": ["circle", "lisbon"]}
    grid = np.array(why["grid"])
    assert grid.shape == (3, 6) and grid.max() == 1.0
    assert np.unravel_index(int(np.argmax(grid)), grid.shape)[1] < 3  # the circle's half
    assert Image.open(out).size == (960, 480)
    said = run_cli("explain", str(tmp_path / "nowhere.jpg"), "red", home=home, check=False)
    assert said.returncode != 0 and "not in this library" in said.stderr
    assert "Traceback" not in said.stderr
