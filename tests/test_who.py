"""Who a typed query asks for, as a person means it: "and" binds closer than "or", "only"
and "alone" take the people they are said of, "not" those it is said of; a name that is also an
ordinary word ("sandy", "will") is a person only when written as a name; what is not read as
people stays words. Read into which photos pass (faces as the people filter sees them), here,
and through `snapseek search` on a library of five named people."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from helpers import make_photo, run_cli

from core.query.filters import FaceSeen, PeopleRule
from core.search.scoring import parse_query

PEOPLE = {"Anna": 1, "Ben": 2, "Carl": 3, "Sandy": 4, "Will": 5}

# photos by who is in them; "A?" is Anna beside someone no one has named
PHOTOS = {
    "A": ["Anna"], "B": ["Ben"], "C": ["Carl"], "AB": ["Anna", "Ben"], "AC": ["Anna", "Carl"],
    "BC": ["Ben", "Carl"], "ABC": ["Anna", "Ben", "Carl"], "S": ["Sandy"], "W": ["Will"],
    "AW": ["Anna", "Will"], "A?": ["Anna", None], "nobody": [],
}
ANNA = {"A", "AB", "AC", "ABC", "AW", "A?"}


def faces(names) -> list[FaceSeen]:
    return [FaceSeen(PEOPLE.get(n), n, 1.0) for n in names]


def reading(text: str) -> tuple[set[str], list[str]]:
    """(the photos a typed query lets through, its words)."""
    query, _ = parse_query(text, people=list(PEOPLE))
    rule = PeopleRule.of(query)
    return ({p for p, names in PHOTOS.items() if rule.match(faces(names))},
            [t for t, _ in query.texts])


# the table and the README's examples: typed → photos, words
TABLE = [
    ("Anna and Ben or Carl", {"AB", "ABC", "C", "AC", "BC"}, []),
    ("only Anna or Ben", {"A", "B"}, []),
    ("Anna with Ben only", {"AB"}, []),
    ("Anna, not Ben, and Carl", {"AC"}, []),
    ("sandy beach", set(PHOTOS), ["sandy beach"]),
    ("Anna will smile", ANNA, ["will smile"]),
]
README = [
    ("Anna and Ben", {"AB", "ABC"}, []),
    ("Anna, Ben & Carl", {"ABC"}, []),
    ("Anna or Ben", ANNA | {"B", "BC"}, []),
    ("Anna without Ben", {"A", "AC", "AW", "A?"}, []),
    ("Anna but not Ben", {"A", "AC", "AW", "A?"}, []),
    ("only Anna", {"A"}, []),
    ("just Anna and Ben", {"AB"}, []),
    ("Anna alone", {"A"}, []),
    ("Anna and Ben at the beach in 2019", {"AB", "ABC"}, ["at the beach"]),
    ("Anna at the beach with Ben", {"AB", "ABC"}, ["at the beach"]),
    ("(Anna or Ben) and Carl", {"AC", "BC", "ABC"}, []),
    ("Anna, Ben or Carl", ANNA | {"B", "BC", "C"}, []),
    ("Anna - Ben", {"A", "AC", "AW", "A?"}, []),
    ("Anna with Ben", {"AB", "ABC"}, []),
    ("Anna or Ben without Carl", {"A", "AB", "AW", "A?", "B"}, []),
]


@pytest.mark.parametrize("text, photos, words", TABLE + README)
def test_people_are_read_as_a_person_means_them(text, photos, words):
    assert reading(text) == (photos, words)


@pytest.mark.parametrize("text, photos, words", [
    ("Sandy at the beach", {"S"}, ["at the beach"]),
    ("SANDY at the beach", {"S"}, ["at the beach"]),
    ("Will and Anna", {"AW"}, []),
    ("will and Anna", ANNA, ["will and"]),
    ('"Sandy" at the beach', set(PHOTOS), ['"Sandy" at the beach']),
    # a name that is no ordinary word is a name in any case
    ("anna and ben", {"AB", "ABC"}, []),
])
def test_a_name_that_is_also_a_word_is_a_person_only_when_written_as_a_name(text, photos, words):
    assert reading(text) == (photos, words)


@pytest.mark.parametrize("text", ["salt and pepper", "not blurry", "only child",
                                  "a cat with a hat", "beach (2019)", "rock, paper & scissors"])
def test_words_that_join_people_are_words_where_no_one_is_named(text):
    assert reading(text) == (set(PHOTOS), [text])


# -- through the command line --------------------------------------------------------------
@pytest.fixture(scope="module")
def family(tmp_path_factory, random_model):
    """A library of the photos above, each face given its person's name as the People view
    names them; beside them a photo of no one named for the words in it."""
    from core.library import Library
    from core.people.faces import VERSION, Face

    root = tmp_path_factory.mktemp("family")
    folder = root / "Pictures"
    files = {key: make_photo(folder / f"{key.replace('?', '_someone')}.jpg", seed=n)
             for n, key in enumerate(PHOTOS)}
    files["beach"] = make_photo(folder / "sandy_beach.jpg", "yellow", "stripe", seed=99)
    rng = np.random.default_rng(0)
    with Library(root / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        by_name: dict[str, list[int]] = {}
        for key, names in PHOTOS.items():
            media_id = lib.media_id_of(str(files[key]))
            found = [Face(0, i, (0.1 * i, 0.1, 0.1 * i + 0.08, 0.3), 1.0, True,
                          rng.normal(size=128).astype(np.float32), None, 1.0)
                     for i in range(len(names))]
            assert lib.catalog.store_enriched(
                media_id, lib.catalog.media_by_id(media_id).content_hash,
                [("faces", VERSION, found, None)])
            for face, name in zip(lib.faces_in(media_id), names, strict=True):
                if name:
                    by_name.setdefault(name, []).append(face.id)
        for name, face_ids in by_name.items():
            lib.name_faces(face_ids, name)
        assert sorted(lib.person_names()) == sorted(PEOPLE)
    return root / "home", {k: str(v) for k, v in files.items()}


def cli_search(home, *args: str) -> tuple[list[dict], str]:
    proc = run_cli("search", *args, "--json", home=home)
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize("text, photos", [(t, p) for t, p, w in TABLE + README if not w])
def test_the_command_line_reads_people_as_a_person_means_them(family, text, photos):
    home, files = family
    found, _ = cli_search(home, text, "-k", "100")
    assert {r["path"] for r in found} == {files[p] for p in photos}
    # nothing was left to look for in the pictures ("," read as a word was): the filters
    # alone answered
    assert all(r["score"] == 0 for r in found)


def test_the_command_line_reads_sandy_beach_as_words_and_will_smile_after_anna(family):
    home, files = family
    found, _ = cli_search(home, "sandy beach", "-k", "1")  # the photo named for the words
    assert [r["path"] for r in found] == [files["beach"]] and "people" not in found[0]
    found, _ = cli_search(home, "Anna will smile", "-k", "100")
    assert {r["path"] for r in found} == {files[p] for p in ANNA}
    assert {tuple(r["people"]) for r in found} == {("Anna",)}
    found, _ = cli_search(home, "Anna and Ben at the beach in 2019", "-k", "100")
    assert found == []  # every photo here was taken in 2021


def test_no_people_reads_every_name_as_words_and_says_how_it_read_them(family):
    home, files = family
    proc = run_cli("search", "Sandy at the beach", "-k", "100", home=home)
    assert re.search(r"^\(with Sandy: people from the text; --no-people", proc.stderr, re.M)
    assert len(proc.stdout.splitlines()) == 1 and files["S"] in proc.stdout
    found, _ = cli_search(home, "Sandy at the beach", "-k", "100", "--no-people")
    assert len(found) == len(files) and all("people" not in r for r in found)
    proc = run_cli("search", "Anna and Ben or Carl", "-k", "100", home=home)
    assert "(with (Anna and Ben) or Carl: people from the text;" in proc.stderr
