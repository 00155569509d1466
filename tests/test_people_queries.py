"""Several people in one query, on real faces: "Eileen and Grace" (a group photo), "Eileen or
Grace", "Eileen without Grace", "only Eileen" (a blurred face nobody can recognise still counts
as someone; a badge the detector half took for a face does not), in the library, the typed
query and the CLI; the SQL of each people filter agrees with its Python check."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import run_cli
from PIL import Image, ImageFilter
from test_faces import astronaut, grace_hopper
from test_people import both, eileen_and_grace, write_people

from core.library import Library
from core.query.filters import SOMEONE_SCORE, PeopleRule
from core.search.scoring import parse_query
from core.types import AllOf, Alone, AnyOf, Not, Person, Query

EILEEN, GRACE = Person("Eileen"), Person("Grace")


def eileen_with_a_blurred_grace(folder: Path) -> Path:
    """Eileen beside Grace blurred past recognising (the detector still finds her face)."""
    a, g = astronaut(), grace_hopper().resize((436, 512)).filter(ImageFilter.GaussianBlur(5))
    pair = Image.new("RGB", (a.width + g.width, 512), "white")
    pair.paste(a, (0, 0))
    pair.paste(g, (a.width, 0))
    path = folder / "eileen_and_someone.jpg"
    pair.save(path, quality=92)
    return path


@pytest.fixture(scope="module")
def people_home(tmp_path_factory, random_model):
    """A library of Eileen and Grace (named), the two together, and Eileen with someone."""
    root = tmp_path_factory.mktemp("people")
    folder = root / "Pictures"
    truth = write_people(folder)
    together, someone = both(folder), eileen_with_a_blurred_grace(folder)
    when = dt.datetime(2019, 7, 14, 12).timestamp()
    os.utime(together, (when, when))  # no EXIF date: the file's time is when it was taken
    with Library(root / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        assert lib.enrich()[:2] == (len(truth) + 2, 0)
        eileen, grace = eileen_and_grace(lib)
        lib.name_person(eileen.id, "Eileen")
        lib.name_person(grace.id, "Grace")
    photos = {who: {p for p, w in truth.items() if w == who} for who in ("eileen", "grace")}
    return root / "home", photos, str(together), str(someone)


def paths(results) -> set[str]:
    return {r.path for r in results}


def test_and_or_without_and_only(people_home, random_model):
    home, photos, together, someone = people_home
    eileen, grace = photos["eileen"], photos["grace"]
    with Library(home, model=random_model) as lib:
        def find(**people) -> set[str]:
            return paths(lib.search(Query(k=100, **people)))

        assert find(persons=["Eileen", "grace"]) == {together}
        assert find(persons_any=["Eileen", "Grace"]) == eileen | grace | {together, someone}
        # Grace blurred is nobody the library can name: the photo is not one with Grace
        assert find(persons=["Eileen"], persons_not=["Grace"]) == eileen | {someone}
        assert find(persons_not=["Eileen"]) >= grace and not find(persons_not=["Eileen"]) & eileen
        # alone: the group photo has Grace too, the other someone it cannot name; the badge
        # on Eileen's spacesuit, taken for a face in two of her photos, is no one
        assert find(persons_only=["Eileen"]) == eileen
        assert find(persons_only=["Grace"]) == grace
        assert find(persons_only=["Eileen", "Grace"]) == {together}
        assert find(persons_only=["Eileen"], persons_any=["Grace"]) == set()


def test_the_blurred_face_is_kept_out_of_people_but_counted(people_home, random_model):
    home, _, _, someone = people_home
    with Library(home, model=random_model) as lib:
        media_id = lib.media_id_of(someone)
        rows = lib.catalog.db.execute(
            "SELECT sortable, person_id, score FROM faces WHERE media_id=? ORDER BY box_left "
            "DESC", [media_id]).fetchall()
        grace_face = rows[0]  # the rightmost
        assert grace_face[0] == 0 and grace_face[1] is None and grace_face[2] >= SOMEONE_SCORE
        assert lib.catalog.db.execute(
            "SELECT COUNT(*) FROM faces WHERE sortable=0 AND person_id IS NOT NULL"
        ).fetchone()[0] == 0
        assert lib.catalog.people_in(media_id) == ["Eileen"]


def test_each_people_filter_says_in_sql_what_it_checks_in_python(people_home, random_model):
    home, *_ = people_home
    rules = [PeopleRule(all=("Eileen", "Grace")), PeopleRule(any=("eileen", "Grace")),
             PeopleRule(all=("Eileen",), none=("Grace",)), PeopleRule(only=("Eileen",)),
             PeopleRule(only=("Grace", "Eileen")), PeopleRule(none=("Eileen", "Grace")),
             PeopleRule(any=("Grace",), only=("Eileen",)),
             # typed: "(Eileen and Grace) or only Grace", "Eileen or Grace, not Eileen alone"
             PeopleRule(who=AnyOf((AllOf((EILEEN, GRACE)), Alone(("Grace",))))),
             PeopleRule(who=AllOf((AnyOf((EILEEN, GRACE)), Not(Alone(("Eileen",)))))),
             PeopleRule(all=("Grace",), who=Not(EILEEN))]
    with Library(home, model=random_model) as lib:
        ids = lib.catalog.ids_passing(_everything(), 1000)
        seen = lib.catalog.faces_seen(ids)
        for rule in rules:
            allowed = lib.catalog.allowed_ids(_everything(rule))
            assert {m for m in ids if rule.match(seen[m])} == allowed, rule


def _everything(rule: PeopleRule | None = None):
    from core.query.filters import Filters

    return Filters(kinds=frozenset({"photo"}), people=rule or PeopleRule())


def test_typed_queries_read_the_ways_people_are_asked_for(people_home, random_model):
    home, photos, together, someone = people_home
    with Library(home, model=random_model) as lib:
        names = lib.person_names()

        def typed(text: str) -> Query:
            query, _ = parse_query(text, k=100, people=names)
            return query

        query = typed("Eileen and Grace at the beach in 2019")
        assert (query.who, query.texts) == (AllOf((EILEEN, GRACE)), [("at the beach", 1.0)])
        assert query.after is not None and paths(lib.search(query)) == {together}
        assert typed("Eileen or Grace").who == AnyOf((EILEEN, GRACE))
        assert paths(lib.search(typed("eileen without Grace"))) == photos["eileen"] | {someone}
        # "grace" in lower case is the word: Eileen, and the words "without grace"
        assert (typed("eileen without grace").who, typed("eileen without grace").texts) == \
            (EILEEN, [("without grace", 1.0)])
        assert paths(lib.search(typed("Eileen but not Grace"))) == photos["eileen"] | {someone}
        assert paths(lib.search(typed("only Eileen"))) == photos["eileen"]
        assert paths(lib.search(typed("just Grace and Eileen"))) == {together}
        # which of the people asked for are in each result
        found = {r.path: r.people for r in lib.search(typed("Eileen or Grace"))}
        assert found[together] == ("Eileen", "Grace") and found[someone] == ("Eileen",)
        assert {found[p] for p in photos["grace"]} == {("Grace",)}
        assert lib.why(lib.media_id_of(together), typed("Grace and Eileen"))["people"] == \
            ["Grace", "Eileen"]  # as asked


def test_the_cli_asks_for_people_every_way(people_home, random_model):
    home, photos, together, someone = people_home

    def search(*args: str) -> list[dict]:
        return json.loads(run_cli("search", *args, "-k", "100", "--json", home=home).stdout)

    found = search("--any-person", "Eileen", "--any-person", "Grace")
    assert {r["path"] for r in found} == photos["eileen"] | photos["grace"] | {together, someone}
    assert {r["path"]: r["people"] for r in found}[together] == ["Eileen", "Grace"]
    assert {r["path"] for r in search("--person", "Eileen", "--not-person", "Grace")} == \
        photos["eileen"] | {someone}
    assert {r["path"] for r in search("--only-person", "Eileen")} == photos["eileen"]
    assert {r["path"] for r in search("--only-person", "Eileen", "--only-person", "Grace")} \
        == {together}
    assert [r["path"] for r in search("Grace and Eileen")] == [together]
    assert {r["path"] for r in search("only Grace")} == photos["grace"]
    bad = run_cli("search", "--not-person", "Tom", home=home, check=False)
    assert bad.returncode == 1 and "No person is named 'Tom'" in bad.stderr
    why = run_cli("explain", together, "Eileen and Grace", home=home).stdout
    assert "people   Eileen, Grace" in why


def test_a_group_photo_with_a_person_not_yet_named(people_home, random_model, tmp_path):
    """An id stands for a person without a name, in every way of asking."""
    home = tmp_path / "home"
    shutil.copytree(people_home[0], home)
    _, photos, together, _ = people_home
    with Library(home, model=random_model) as lib:
        grace = next(p for p in lib.people() if p.name == "Grace")
        lib.name_person(grace.id, "")
        assert paths(lib.search(Query(k=100, persons_only=[str(grace.id), "Eileen"]))) == \
            {together}
        results = lib.search(Query(k=100, persons_any=[str(grace.id)]))
        assert {r.people for r in results} == {(str(grace.id),)}
        assert paths(results) == photos["grace"] | {together}
