"""Who a typed query asks for, read by one small grammar into an expression over who is in the
photo (core.types: Person, Alone, Not, AllOf, AnyOf), and said back in words.

    either  := both { [","] "or" both | "only" | "alone" }    "or" binds looser than "and"
    both    := one { ("and" | "&" | "," ["and"] | "with") one | [","] negation }
    one     := "with" one | negation | ("only" | "just") either | primary
    negation:= ("not" | "without" | "but not" | "except" ...) primary {("and"|"or"|"nor") primary}
    primary := NAME | "(" either ")"

A negation after people ("Anna or Ben without Carl", "Anna, not Ben, and Carl") is said of
their whole group, "and not" only of its neighbour ("Anna or Ben and not Carl").
"Anna, Ben or Carl" is a list: one of the three. What does not parse as people stays words:
"and", "with" or "not" next to no name, and a name that is also an ordinary word typed in
lower case ("sandy beach", "Anna will smile"; core.query.name_words). A quoted phrase is
never a person. Several stretches of people in one text all hold ("Anna at the beach with
Ben")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.query.name_words import is_ordinary_word
from core.types import AllOf, Alone, AnyOf, Not, Person, Who

NAME, WORD = "name", "word"
AND, COMMA, OR, NOR, NOT, ONLY, JUST, ALONE, WITH, OPEN, CLOSE = (
    "and", ",", "or", "nor", "not", "only", "just", "alone", "with", "(", ")")
_OPERATORS = {"and": AND, "&": AND, ",": COMMA, "or": OR, "nor": NOR, "not": NOT,
              "without": NOT, "except": NOT, "neither": NOT, "only": ONLY, "just": JUST,
              "alone": ALONE, "with": WITH, "(": OPEN, ")": CLOSE}
_PHRASES = (r"but\s+not|but\s+without|except\s+for"
            r"|on\s+(?:her|his|their)\s+own|by\s+(?:herself|himself|themselves)")
_STARTS = {NAME, OPEN, NOT, ONLY, JUST, WITH}


@dataclass(frozen=True)
class _Token:
    kind: str
    start: int
    end: int
    name: str = ""


def _tokens(text: str, names) -> list[_Token]:
    """The text as names, the words that join them, and other words (a quoted phrase is one
    word). A name is a whole word in any case; one that is also an ordinary word counts as a
    name only when typed with its capital letter."""
    spelled = {n.strip().casefold(): n.strip() for n in names if n and n.strip()}
    patterns = [r'(?P<quoted>"[^"]*")']
    if spelled:
        longest = sorted(spelled.values(), key=len, reverse=True)  # "Anna Maria" before "Anna"
        patterns.append(r"(?P<name>(?<!\w)(?:" + "|".join(re.escape(n) for n in longest)
                        + r")(?!\w)(?!'\w))")
    patterns += [rf"(?P<phrase>(?<!\w)(?:{_PHRASES})(?!\w))",
                 r'(?P<other>[(),&]|[^\s(),&"]+|\S)']
    out = []
    for match in re.finditer("|".join(patterns), text, re.IGNORECASE):
        typed, group = match.group(0), match.lastgroup
        if group == "name":
            name = spelled[typed.casefold()]
            if typed[0].isupper() or not is_ordinary_word(name):
                out.append(_Token(NAME, match.start(), match.end(), name))
                continue
        said = " ".join(typed.lower().split())
        kind = (ALONE if said.startswith(("on ", "by ")) else NOT) if group == "phrase" \
            else _OPERATORS.get(said, WORD) if group == "other" else WORD
        out.append(_Token(kind, match.start(), match.end()))
    return out


def alone(who: Who) -> Who:
    """"only" said of people: each way the expression can hold, with those people and no one
    else ("only Anna or Ben": Anna alone, or Ben alone)."""
    ways = []
    for wanted, excluded in _ways(who):
        ways.append(Alone(tuple(dict.fromkeys(wanted))) if wanted else AllOf.of(excluded))
    return AnyOf.of(ways)


def _ways(who: Who) -> list[tuple[list[str], list[Who]]]:
    """The expression as alternatives, each the people it wants and the parts it excludes."""
    if isinstance(who, Person):
        return [([who.name], [])]
    if isinstance(who, Alone):
        return [(list(who.people), [])]
    if isinstance(who, Not):
        return [([], [who])]
    if isinstance(who, AnyOf):
        return [way for part in who.parts for way in _ways(part)]
    ways: list[tuple[list[str], list[Who]]] = [([], [])]
    for part in who.parts:
        ways = [(a + b, x + y) for a, x in ways for b, y in _ways(part)]
    return ways


class _Parser:
    """Recursive descent over the tokens: each rule returns what it read and moves on, or
    returns None and leaves the position where it was."""

    def __init__(self, tokens: list[_Token]):
        self.tokens, self.at = tokens, 0
        self._excluded: list[list[Who]] = []  # for each group open, what it is without

    def _kind(self, ahead: int = 0) -> str | None:
        i = self.at + ahead
        return self.tokens[i].kind if i < len(self.tokens) else None

    def _take(self, *kinds: str) -> bool:
        if self._kind() in kinds:
            self.at += 1
            return True
        return False

    def either(self) -> Who | None:
        self._excluded.append([])
        try:
            parts = self._alternatives()
        finally:
            excluded = self._excluded.pop()
        return AllOf.of([AnyOf.of(parts), *excluded]) if parts else None

    def _alternatives(self) -> list[Who]:
        first = self.both()
        if first is None:
            return []
        parts = [first]
        while True:
            start = self.at
            self._take(COMMA)
            if self._take(OR):
                part = self.both()
                if part is not None:
                    parts.append(part)
                    continue
            elif self.at == start and self._take(ONLY, ALONE):  # "Anna with Ben only"
                parts = [alone(AnyOf.of(parts))]
                continue
            self.at = start
            return parts

    def both(self) -> Who | None:
        first = self.one()
        if first is None:
            return None
        parts = [first]
        while True:
            start = self.at
            listed = self._listed(parts[-1])
            if listed is not None:
                parts[-1] = listed
                continue
            comma = self._take(COMMA)
            part = None
            if self._kind() == NOT:  # "without Ben", ", not Ben": the whole group is without
                excluded = self.one()
                if excluded is not None:
                    self._excluded[-1].append(excluded)
                    continue
            elif self._take(AND, WITH) or comma:
                part = self.one()
            if part is None:
                self.at = start
                return AllOf.of(parts)
            parts.append(part)

    def _listed(self, last: Who) -> Who | None:
        """"Anna, Ben or Carl": names in a list that ends in "or" are one of them."""
        kind = self._kind
        if not isinstance(last, Person):
            return None
        people, i = [last], 0
        while kind(i) == COMMA and kind(i + 1) == NAME:
            people.append(Person(self.tokens[self.at + i + 1].name))
            i += 2
        i += kind(i) == COMMA
        if len(people) < 2 or kind(i) != OR or kind(i + 1) != NAME:
            return None
        people.append(Person(self.tokens[self.at + i + 1].name))
        self.at += i + 2
        return AnyOf.of(people)

    def one(self) -> Who | None:
        start = self.at
        if self._take(WITH):  # "at the beach with Ben"
            part = self.one()
        elif self._take(NOT):
            part = self.negation()
            part = Not(part) if part is not None else None
        elif self._take(ONLY, JUST):
            part = self.either()
            part = alone(part) if part is not None else None
        else:
            part = self.primary()
        if part is None:
            self.at = start
        return part

    def negation(self) -> Who | None:
        """The people "not" is said of: "without Ben or Carl", "without Ben and Carl" (neither
        of them); a comma ends them ("Anna, not Ben, and Carl")."""
        first = self.primary()
        if first is None:
            return None
        parts = [first]
        while True:
            start = self.at
            if self._take(AND, OR, NOR):
                part = self.primary()
                if part is not None:
                    parts.append(part)
                    continue
            self.at = start
            return AnyOf.of(parts)

    def primary(self) -> Who | None:
        start = self.at
        if self._kind() == NAME:
            self.at += 1
            return Person(self.tokens[start].name)
        if self._take(OPEN):
            inner = self.either()
            if inner is not None and self._take(CLOSE):
                return inner
        self.at = start
        return None


def read_people(text: str, names) -> tuple[str, Who | None]:
    """The people a text asks for, of those `names` (any case, longest first: "Anna Maria"
    before "Anna"), and the text left without them and the words that joined them: (words,
    expression or None)."""
    tokens = _tokens(text, names)
    if not any(t.kind == NAME for t in tokens):
        return text, None
    parser, found, used = _Parser(tokens), [], set()
    i = 0
    while i < len(tokens):
        parser.at = i
        who = parser.either() if tokens[i].kind in _STARTS else None
        if who is None:
            i += 1
            continue
        found.append(who)
        used.update(range(i, parser.at))
        i = parser.at
    words, last = [], 0
    for n, token in enumerate(tokens):
        if n in used:
            words.append(text[last:token.start] + " ")
            last = token.end
    words.append(text[last:])
    rest = re.sub(r"\s+", " ", "".join(words))
    rest = re.sub(r",(\s*,)+", ",", rest).strip(" ,&")
    return rest, AllOf.of(found)


# -- said back in words ---------------------------------------------------------------------
def said(who: Who) -> str:
    """An expression as a person would say it: "(Anna and Ben) or Carl", "only Anna or only
    Ben", "Anna and not Ben"."""
    if isinstance(who, Person):
        return who.name
    if isinstance(who, Alone):
        return "only " + " and ".join(who.people)
    if isinstance(who, Not):
        inner = who.part
        if isinstance(inner, AnyOf) and all(isinstance(p, Person) for p in inner.parts):
            return "neither " + " nor ".join(p.name for p in inner.parts)
        return "not " + _grouped(inner, Person)
    joiner = " and " if isinstance(who, AllOf) else " or "
    return joiner.join(_grouped(p, type(who)) for p in who.parts)


def _grouped(who: Who, within) -> str:
    plain = isinstance(who, (Person, Not, within)) or (isinstance(who, Alone)
                                                       and len(who.people) == 1)
    return said(who) if plain else f"({said(who)})"


def chips(who: Who | None) -> list[tuple[str, tuple[str, ...]]]:
    """What each part of the people asked for says, as a chip: (label, the names in it); the
    parts all hold ("with Anna", "without Ben", "with (Anna and Ben) or Carl", "only Anna")."""
    if who is None:
        return []
    parts: list[Who] = []
    for part in who.parts if isinstance(who, AllOf) else (who,):
        if isinstance(part, Not) and isinstance(part.part, AnyOf):
            parts += [Not(p) for p in part.part.parts]  # "without Ben", "without Carl"
        else:
            parts.append(part)
    out = []
    for part in parts:
        if isinstance(part, Not):
            label = "without " + _grouped(part.part, Person)
        else:  # "with" where everyone in it is wanted in the photo
            label = said(part)
            if not _limits(part):
                label = "with " + label
        out.append((label, part.names()))
    return out


def _limits(who: Who) -> bool:
    """Whether an expression says who is not there ("only", "not") anywhere in it."""
    if isinstance(who, (Alone, Not)):
        return True
    return isinstance(who, (AllOf, AnyOf)) and any(_limits(p) for p in who.parts)
