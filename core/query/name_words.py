"""Given names that are also ordinary English words ("sandy", "will", "rose"): typed in lower
case, such a name is read as the word, not the person.

A short list rather than a dictionary, because the question is not whether a string is a word
but whether a person typing it in lower case means the word: dictionaries hold "ben" (a
mountain), "carl" (a churl) and "anna" (a coin), names nobody types as words, while what
matters are the names people give that are everyday words: flowers, gems, months, seasons,
virtues, nicknames, trades. A name not here is a name in any case ("anna and ben"); one here
is a person when written with its capital letter ("Sandy at the beach", "SANDY"), and a word
otherwise ("sandy beach", "Anna will smile"). Names of several words are never one word."""

from __future__ import annotations

ORDINARY = frozenset("""
    abbey ace amber angel april art ash august autumn baker basil bay bear bell berry
    beryl bill birdie bishop blaze bliss blue bob bobby brandy briar brook buck bud buddy
    bunny candy carol carter cash chance charity chase cherry chip chuck clay cliff clover
    colt cookie cooper coral crystal daisy dale dash dawn dean dell destiny diamond doc
    dolly dot drew duke dusty earl ebony echo emerald faith fawn felicity fern fisher flint
    flip ford forest fox frank gale garnet gem gene ginger glen glory gold grace grant guy
    harmony hazel heath heather herb holly honey honor honour hope hunter iris ivy jack
    jade jasmine jay jewel jimmy joy june justice king kit lake lance lark laurel liberty
    lily lotus love lucky major march marigold mark marsh mason may meadow melody mercy
    miles miller mint misty modesty moss myrtle nick olive opal pat patience peach pearl
    penny pepper pierce piper poppy porter posy precious primrose prince prudence rain
    randy raven ray red reed rich river rob robin rock rocky rod rose rosemary ruby rush
    rusty saffron sage sally sandy sawyer scout serenity sky slim snow sonny spike star
    sterling stone storm summer sunny tanner ted tiger topaz trinity tucker unity violet
    wade walker ward warren will willow winter wren
""".split())


def is_ordinary_word(name: str) -> bool:
    """Whether a name, in lower case, is an everyday word."""
    return name.casefold() in ORDINARY
