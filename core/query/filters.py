"""What a query's filters let through: each filter's SQL beside the Python rule it calls."""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.media.localtime import local_stamp
from core.media.places import COUNTRY_ALIASES
from core.paths import normalise
from core.types import AllOf, Alone, AnyOf, Not, Person, Query, Who
from core.words import fold


def _text(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


# -- names in paths -----------------------------------------------------------------------------
def matches_exact(path: str | bytes, exact) -> bool:
    """Whether a path holds every exact name filter: ("path", text) anywhere in it, ("name",
    text) in the file name; any case, no character is special."""
    low = fold(_text(path), accents=False)
    name = low.rsplit(os.sep, 1)[-1]
    return all(fold(value, accents=False) in (name if field == "name" else low)
               for field, value in exact)


def path_has_any(path: str | bytes, words) -> bool:
    """Whether the path contains one of the words, any case."""
    low = fold(_text(path), accents=False)
    return any(fold(w, accents=False) in low for w in words)


# -- cameras ------------------------------------------------------------------------------------
def camera_matches(camera: str | bytes | None, wanted: str) -> bool:
    """`wanted` names the camera exactly, as "make model" or the model alone, in any case:
    "iPhone 12" is not "iPhone 12 Pro". A trailing `*` asks for a prefix: "iPhone 12*" takes
    the Pro and the Pro Max, "Canon*" every Canon. No other character is special."""
    if camera is None:
        return False
    if isinstance(camera, bytes):
        camera = camera.decode("utf-8", "replace")
    text = wanted.strip()
    prefix = text.endswith("*")
    want = " ".join(fold(text.rstrip("*"), accents=False).split())
    if not want:
        return prefix  # "*" alone: any camera
    words = fold(camera, accents=False).split()
    # the whole name, or the name without its first words (the make, however many words)
    for start in range(len(words)):
        name = " ".join(words[start:])
        if name == want or (prefix and name.startswith(want)):
            return True
    return False


# -- people -------------------------------------------------------------------------------------
def person_named(name: str | None, wanted: str) -> bool:
    """Whether a person's name is this one, in any case."""
    return name is not None and fold(name.strip(), accents=False) == fold(wanted.strip(), accents=False)


def person_number(wanted: str) -> int | None:
    """The person's id that `wanted` is, if a number: a person with no name yet is asked for
    by it."""
    wanted = wanted.strip()
    return int(wanted) if wanted.isdigit() else None


def person_in(name: str | None, person_id: int | None, wanted) -> bool:
    """Whether a person (their name, their id) is one of those asked for."""
    return person_id is not None and any(
        person_named(name, w) or person_number(w) == person_id for w in wanted)


# The detector's score from which a detection counts as someone for "only Anna", however
# small or blurred: on the test pictures faces score 0.7 and more (a face blurred beyond
# recognising still 1.4), a badge on a spacesuit 0.07-0.12.
SOMEONE_SCORE = 0.3


@dataclass(frozen=True)
class FaceSeen:
    """A face in a photo as the people filters see it: whose it is (if anyone's) and the
    detector's score (None: found before scores were kept, so counted as someone)."""

    person_id: int | None
    name: str | None
    score: float | None = None

    @property
    def someone(self) -> bool:
        return self.score is None or self.score >= SOMEONE_SCORE


_HAS = ("id {} (SELECT f.media_id FROM faces f JOIN people p ON p.id=f.person_id "
        "WHERE snapseek_person_in(p.name, p.id, ?))")
_SOMEONE_ELSE = ("NOT EXISTS (SELECT 1 FROM faces f LEFT JOIN people p ON p.id=f.person_id "
                 "WHERE f.media_id=media.id AND (f.score IS NULL OR f.score >= ?) "
                 "AND NOT snapseek_person_in(p.name, p.id, ?))")


@dataclass(frozen=True)
class PeopleRule:
    """Who a photo must hold: the people given one by one (all of `all`, one of `any`, none of
    `none`, `only` these and no one else, recognised or not) and what the typed text asks
    (`who`, an expression read by core.query.who), all of it at once. Each kind of part's SQL
    (`_where`) sits beside its Python check (`_holds`), which say the same."""

    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    who: Who | None = None

    @classmethod
    def of(cls, query: Query) -> PeopleRule:
        return cls(*(tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
                     for names in (query.persons, query.persons_any, query.persons_not,
                                   query.persons_only)), query.who)

    def expression(self) -> Who | None:
        """All of it as one expression (None: no one is asked about)."""
        def people(names) -> list[Who]:
            return [Person(n) for n in names]

        return AllOf.of([*people(self.all), AnyOf.of(people(self.any)),
                         Not(AnyOf.of(people(self.none))) if self.none else None,
                         Alone(self.only) if self.only else None, self.who])

    def __bool__(self) -> bool:
        return self.expression() is not None

    def wanted(self) -> tuple[str, ...]:
        """The people asked to be in the photo, in the order asked."""
        who = self.expression()
        return who.names(wanted=True) if who is not None else ()

    def where(self) -> tuple[list[str], list]:
        """SQL conditions over `media`, and their parameters."""
        who = self.expression()
        if who is None:
            return [], []
        sql, params = _where(who)
        return [sql], params

    def match(self, faces: list[FaceSeen]) -> bool:
        """Whether a photo with these faces passes."""
        who = self.expression()
        return who is None or _holds(who, faces)

    def matched(self, faces: list[FaceSeen]) -> tuple[str, ...]:
        """The people asked for (to be there) who are in a photo with these faces, in the
        order asked: their names, or ids when they have none."""
        return tuple(dict.fromkeys(f.name or str(f.person_id) for wanted in self.wanted()
                                   for f in faces if person_in(f.name, f.person_id, [wanted])))


def _where(who: Who) -> tuple[str, list]:
    """An expression as an SQL condition over `media` (see _holds)."""
    if isinstance(who, Person):
        return _HAS.format("IN"), [who.name]
    if isinstance(who, AnyOf) and all(isinstance(p, Person) for p in who.parts):
        return _HAS.format("IN"), ["\0".join(p.name for p in who.parts)]  # one look-up
    if isinstance(who, Alone):
        clauses = [_HAS.format("IN")] * len(who.people) + [_SOMEONE_ELSE]
        return (f"({' AND '.join(clauses)})",
                [*who.people, SOMEONE_SCORE, "\0".join(who.people)])
    if isinstance(who, Not):
        sql, params = _where(who.part)
        return f"NOT ({sql})", params
    parts = [_where(p) for p in who.parts]
    joiner = " AND " if isinstance(who, AllOf) else " OR "
    return (f"({joiner.join(f'({sql})' for sql, _ in parts)})",
            [value for _, params in parts for value in params])


def _holds(who: Who, faces: list[FaceSeen]) -> bool:
    """Whether an expression holds of a photo with these faces (see _where)."""
    def held(wanted) -> bool:
        return any(person_in(f.name, f.person_id, wanted) for f in faces)

    if isinstance(who, Person):
        return held([who.name])
    if isinstance(who, Alone):
        return all(held([n]) for n in who.people) and not any(
            f.someone and not person_in(f.name, f.person_id, who.people) for f in faces)
    if isinstance(who, Not):
        return not _holds(who.part, faces)
    results = (_holds(p, faces) for p in who.parts)
    return all(results) if isinstance(who, AllOf) else any(results)


# -- places -------------------------------------------------------------------------------------


def place_matches(names, wanted: str | None) -> bool:
    """Whether a place (its locality, city, region and country) answers to a name, any case
    or accents, a country also to its English alias."""
    want = fold(wanted or "")
    folded = {fold(n) for n in names if n}
    alias = COUNTRY_ALIASES.get(want)
    return want in folded or (alias is not None and fold(alias) in folded)


# -- folders ------------------------------------------------------------------------------------
def under(folder: str) -> list[tuple[str | bytes, str | bytes]]:
    """Ranges [low, high) of the paths inside a folder, on the path index: one over the raw
    bytes of names that are not UTF-8 (stored as BLOBs, which sort after all text), and one
    over text paths when the folder's own name is UTF-8. Nothing in them is a wildcard."""
    prefix = folder.rstrip(os.sep) + os.sep
    raw = os.fsencode(prefix)
    ranges: list[tuple[str | bytes, str | bytes]] = [(raw, raw[:-1] + bytes([raw[-1] + 1]))]
    try:
        prefix.encode("utf-8")
    except UnicodeEncodeError:
        return ranges
    return [(prefix, prefix[:-1] + chr(ord(os.sep) + 1)), *ranges]


# -- the rules above as SQL functions: name → (arguments, function) --------------------------------
SQL_FUNCTIONS = {
    "snapseek_camera": (2, lambda camera, wanted: int(
        wanted is not None and camera_matches(camera, wanted))),
    "snapseek_name": (3, lambda path, field, value: int(
        path is not None and matches_exact(path, [(field, value)]))),
    "snapseek_any_word": (2, lambda path, words: int(
        path is not None and path_has_any(path, words.split("\0")))),
    "snapseek_person_in": (3, lambda name, person_id, wanted: int(
        wanted is not None and person_in(name, person_id, wanted.split("\0")))),
    "snapseek_place": (5, lambda locality, city, region, country, wanted: int(
        place_matches((locality, city, region, country), wanted))),
    "snapseek_local_time": (2, local_stamp),
}


@dataclass(frozen=True)
class Filters:
    """The one definition of what a query's filters let through, as SQL over `media`.

    Browsing (filters alone) and ranked search (the allowed ids handed to the vector search)
    both use it. What SQLite cannot say exactly is said in Python above and registered as SQL
    functions (SQL_FUNCTIONS). A folder is a range on the path index, for text paths and for
    the raw bytes of names that are not UTF-8 alike.
    """

    folder: str | None = None  # a real path: what lies inside it
    kinds: frozenset[str] | None = None  # photo, raw, video
    camera: str | None = None  # camera_matches
    # taken at or after / before, in the photo's local time (a wall-clock day as a Unix time)
    after: float | None = None
    before: float | None = None
    names: tuple[tuple[str, str], ...] = ()  # ("path" | "name", text): all must match
    any_word: tuple[str, ...] = ()  # the path holds one of these words
    people: PeopleRule = PeopleRule()  # who is in the photo, and who is not
    place: str | None = None  # a city, region or country (any case or accents)

    @classmethod
    def of(cls, query: Query, names=(), any_word=()) -> Filters:
        folder = normalise(query.folder) if query.folder else None
        return cls(folder, frozenset(query.kinds) if query.kinds else None,
                   query.camera.strip() if query.camera and query.camera.strip() else None,
                   query.after, query.before, tuple(names), tuple(any_word),
                   PeopleRule.of(query),
                   query.place.strip() if query.place and query.place.strip() else None)

    def __bool__(self) -> bool:
        return bool(self.folder or self.kinds or self.camera or self.after is not None
                    or self.before is not None or self.names or self.any_word or self.people
                    or self.place)

    def where(self) -> tuple[str, list]:
        """The SQL condition over `media` (indexed media only) and its parameters."""
        clauses, params = ["status='ok'"], []
        if self.folder:
            ranges = under(self.folder)
            clauses.append("(" + " OR ".join("(path >= ? AND path < ?)" for _ in ranges) + ")")
            params += [bound for pair in ranges for bound in pair]
        if self.kinds:
            clauses.append(f"kind IN ({','.join('?' * len(self.kinds))})")
            params += sorted(self.kinds)
        if self.camera:
            clauses.append("snapseek_camera(camera, ?)")
            params.append(self.camera)
        if self.after is not None:
            clauses.append("snapseek_local_time(taken_at, taken_offset) >= ?")
            params.append(self.after)
        if self.before is not None:
            clauses.append("snapseek_local_time(taken_at, taken_offset) < ?")
            params.append(self.before)
        for field_name, value in self.names:
            clauses.append("snapseek_name(path, ?, ?)")
            params += [field_name, value]
        if self.any_word:
            clauses.append("snapseek_any_word(path, ?)")
            params.append("\0".join(self.any_word))
        people, people_params = self.people.where()
        clauses += people
        params += people_params
        if self.place:
            clauses.append("id IN (SELECT media_id FROM places WHERE "
                           "snapseek_place(locality, city, region, country, ?))")
            params.append(self.place)
        return " AND ".join(clauses), params
