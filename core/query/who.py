"""People named in a typed query, and how they are asked for: "Anna and Ben" (both in the
photo), "Anna or Ben" (one of them at least), "Anna without Ben" / "Anna but not Ben", and
"only Anna" (no one else in it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# a name found in the text is held as a marker (its number) while the words around it are read
_NAME = "\x00(\\d+)\x01"
_JOIN = r"(?:\s*,\s*(?:(?:and|or)\s+)?|\s*&\s*|\s+(?:and|or|nor)\s+)"
_CHAIN = f"{_NAME}(?:{_JOIN}{_NAME})*"
_NOT = re.compile(r"(?<!\w)(?:but\s+not|and\s+not|but\s+without|without|except(?:\s+for)?|"
                  r"not|nor)\s+(" + _CHAIN + ")", re.IGNORECASE)
_ONLY = re.compile(r"(?<!\w)(?:only|just)\s+(?:with\s+)?(" + _CHAIN + ")"
                   r"|(" + _CHAIN + r")\s+(?:alone|only|on\s+(?:her|his|their)\s+own)(?!\w)",
                   re.IGNORECASE)
_PLAIN = re.compile(_CHAIN)
_OR = re.compile(r"(?<!\w)or(?!\w)", re.IGNORECASE)


@dataclass
class AskedPeople:
    """Who a query asks for: all of them in the photo, at least one of them, none of them,
    and these alone."""

    all: list[str] = field(default_factory=list)
    any: list[str] = field(default_factory=list)
    none: list[str] = field(default_factory=list)
    only: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        """Every name asked about, in the order the parts are read."""
        return list(dict.fromkeys([*self.all, *self.any, *self.none, *self.only]))

    def role(self, name: str) -> str:
        """How a name is asked for: "all", "any", "none" or "only"."""
        for role in ("only", "none", "any", "all"):
            if name in getattr(self, role):
                return role
        raise KeyError(name)


def read_people(text: str, names) -> tuple[str, AskedPeople]:
    """The names of people in a query, as whole words in any case, longest first ("Anna
    Maria" before "Anna"), and how each is asked for; (the text without them and the words
    that joined them, the people asked for). Names one after another joined by "and", "&" or
    commas are all wanted, by "or" one of them; "without", "but not" or "not" before names
    excludes them; "only" or "just" before names (or "alone" after) wants those alone.
    Names apart ("Anna at the beach with Ben") are all wanted."""
    found: list[str] = []
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
        if pattern.search(text):  # a longer name holding this one is a marker already
            text = pattern.sub(f"\x00{len(found)}\x01", text)
            found.append(name)
    asked = AskedPeople()
    if not found:
        return text, asked

    def take(part: list[str]):
        def replace(match: re.Match) -> str:
            chain = match.group(0)
            into = part if part is not None else (asked.any if _OR.search(chain) else asked.all)
            into += [found[int(i)] for i in re.findall(_NAME, chain)
                     if found[int(i)] not in into]
            return " "
        return replace

    text = _NOT.sub(take(asked.none), text)
    text = _ONLY.sub(take(asked.only), text)
    text = _PLAIN.sub(take(None), text)
    return re.sub(r"\s+", " ", text).strip(), asked


def find_people(text: str, names) -> tuple[str, list[str]]:
    """The names of people in a query, however asked for, and the text without them
    (read_people without the ways they are asked for)."""
    rest, asked = read_people(text, names)
    return rest, asked.names()
