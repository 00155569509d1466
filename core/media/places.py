"""Places, offline: GPS → city, region and country by reverse geocoding over GeoNames' cities
(core/media/cities.py), and place names found in what people type.

A photo taken in Lisbon's Intendente quarter gets locality "Intendente", city "Lisbon" (the
nearest city of 100,000 or more within 30 km: the name people use), region "Lisbon" and country
"Portugal". Names match case- and accent-insensitively ("reykjavik" finds Reykjavík), and the
common English names of countries work too ("USA", "UK", "Holland")."""

from __future__ import annotations

from dataclasses import dataclass

from core.media.cities import cities, country_table
from core.words import fold

# English names people type for countries, beside GeoNames' own ("United States", ...).
COUNTRY_ALIASES = {
    # not "us": "photos of us at the beach"
    "usa": "United States", "u.s.a.": "United States", "america": "United States",
    "united states of america": "United States", "the states": "United States",
    "uk": "United Kingdom", "britain": "United Kingdom", "great britain": "United Kingdom",
    "holland": "Netherlands", "the netherlands": "Netherlands",
    "czech republic": "Czechia", "south korea": "South Korea", "korea": "South Korea",
    "russia": "Russia", "uae": "United Arab Emirates", "emirates": "United Arab Emirates",
    "vatican": "Vatican", "ivory coast": "Ivory Coast", "burma": "Myanmar",
    "persia": "Iran", "swaziland": "Eswatini", "turkey": "Türkiye",
}

BIG_CITY = 100_000  # people say "Lisbon", not the quarter's name
BIG_CITY_KM = 30.0


@dataclass(frozen=True)
class Place:
    locality: str
    city: str
    region: str
    country: str
    country_code: str

    def names(self) -> list[str]:
        """Every name this place answers to, most specific first, without repeats."""
        return list(dict.fromkeys(n for n in (self.locality, self.city, self.region,
                                              self.country) if n))

    def label(self) -> str:
        return ", ".join(dict.fromkeys(n for n in (self.city, self.country) if n))


def locate(lat: float, lon: float) -> Place | None:
    """The place of a GPS position, or None for positions that are not on Earth."""
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) \
            or (lat == 0 and lon == 0):  # 0,0: a camera's "no fix", not the Gulf of Guinea
        return None
    table = cities()
    near = table.nearest(lat, lon)
    big = table.nearest(lat, lon, BIG_CITY)
    if near is None:
        return None
    city = near.get("city", "")
    if big and big["km"] <= BIG_CITY_KM and big.get("country_code") == near.get("country_code"):
        city = big.get("city", city)
    return Place(locality=near.get("city", ""), city=city, region=near.get("state", ""),
                 country=near.get("country", ""), country_code=near.get("country_code", ""))


def country_names() -> dict[str, str]:
    """Folded name → country, for every country GeoNames knows and the aliases above. (A
    query only recognises the places a library has photos of: see `known_names`.)"""
    names = {fold(name): name for name in country_table().values()}
    for alias, country in COUNTRY_ALIASES.items():
        names.setdefault(alias, country)
    return names


def known_names(places: list[Place]) -> dict[str, str]:
    """Folded name → spelling for the places of a library, with the English names of their
    countries: what a query may name. Places with no photos never become a chip."""
    known: dict[str, str] = {}
    countries = {p.country for p in places}
    for place in places:
        # not the locality: the nearest place of any size may be called "Beach", "Nice" or
        # "Paradise"; a typed word becomes a place only for a city, region or country
        for name in (place.city, place.region, place.country):
            if name:
                known.setdefault(fold(name), name)
    for alias, country in COUNTRY_ALIASES.items():
        if country in countries:
            known.setdefault(alias, country)
    return known


@dataclass(frozen=True)
class PlaceMatch:
    name: str  # the place's own spelling, e.g. "Reykjavík"
    phrase: str  # what was typed, e.g. "in reykjavik"
    rest: str  # the query without it


_LEADS = ("photos in", "pictures in", "photos from", "pictures from", "in", "at", "from")


def find_place(text: str, known: dict[str, str], max_words: int = 4) -> PlaceMatch | None:
    """The longest place name in the text that the library knows (`known`: folded name →
    spelling), with a leading "in"/"at"/"from" taken along; the rest are the words to rank."""
    words = text.split()
    folded = [fold(w.strip(",.;:!?")) for w in words]
    best = None
    for size in range(min(max_words, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            name = " ".join(folded[start:start + size])
            if name in known:
                best = (start, start + size, known[name])
                break
        if best:
            break
    if best is None:
        return None
    start, end, name = best
    for lead in _LEADS:  # "beach in Portugal": the "in" goes with the place
        n = len(lead.split())
        if start >= n and " ".join(folded[start - n:start]) == lead:
            start -= n
            break
    phrase = " ".join(words[start:end])
    rest = " ".join(words[:start] + words[end:])
    return PlaceMatch(name=name, phrase=phrase, rest=rest)
