"""The `snapseek` command line's arguments: the parser, and the types that check values."""

from __future__ import annotations

import argparse


class Parser(argparse.ArgumentParser):
    """Misused arguments get one line (and exit status 2), not the whole usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _number(text: str, convert, within, wanted: str):
    """`text` as a number that `within` accepts, or argparse's one line (nan is never within)."""
    try:
        value = convert(text)
    except ValueError:
        kind = "whole number" if convert is int else "number"
        raise argparse.ArgumentTypeError(f"not a {kind}: {text!r}") from None
    if not within(value):
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {text}")
    return value


def at_least_one(text: str) -> int:
    """A whole number of 1 or more (how many results, threads...)."""
    return _number(text, int, lambda v: v >= 1, "at least 1")


def fraction(text: str) -> float:
    """A number from 0 to 1 (a similarity threshold)."""
    return _number(text, float, lambda v: 0.0 <= v <= 1.0, "from 0 to 1")


def minutes(text: str) -> float:
    """A positive number of minutes, at most a week (how often to re-check everything)."""
    return _number(text, float, lambda v: 0.0 < v <= 7 * 24 * 60,
                   "more than 0 and at most 10080 (a week)")


def parse_day(text: str) -> float:
    """YYYY, YYYY-MM or YYYY-MM-DD as the start of that period (core.query.dates.day_start)."""
    import datetime as dt

    from core.query.dates import day_start

    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            when = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return day_start(when.date())
    raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")


def _common(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--home", default=default,
                        help="library home (default: $SNAPSEEK_HOME or the user data folder)")
    parser.add_argument("--model", default=default,
                        help="model: NAME:TAG, hf-hub:org/repo or local-dir:/path/to/folder")
    parser.add_argument("--device", default=default, help="auto (default), cpu, cuda or mps")
    parser.add_argument("--threads", type=at_least_one, default=default,
                        help="torch threads (default: automatic)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="snapseek", description="Search your own photos by meaning.")
    _common(parser, None)
    sub = parser.add_subparsers(dest="command", required=True)
    common = Parser(add_help=False)
    _common(common, argparse.SUPPRESS)

    p = sub.add_parser("index", parents=[common], help="catalog and embed photos under folders")
    p.add_argument("folders", nargs="*", help="folders to add (default: the library's folders)")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument("--no-faces", action="store_true",
                   help="skip the second pass (finding faces and sorting them into people)")
    p.add_argument("--forget-missing", action="store_true",
                   help="forget photos gone from a folder even when most of it went at once "
                        "(kept otherwise: a folder emptied by surprise is asked about first)")

    p = sub.add_parser("search", parents=[common], help="search by text or by an example image")
    p.add_argument("query", nargs="?", default="",
                   help='text; rclip-style terms work too: "2:dog + ./beach.jpg - people"')
    p.add_argument("--image", action="append", default=[], help="an example image (repeatable)")
    p.add_argument("-k", "--top", type=at_least_one, default=None,
                   help="how many results (default: the matches, ending where they end)")
    p.add_argument("--all", action="store_true",
                   help="rank every photo, not only the matches")
    p.add_argument("--place", help="only photos taken in this city, region or country")
    p.add_argument("--folder", help="only results under this folder")
    p.add_argument("--after", type=parse_day, help="taken on or after YYYY[-MM[-DD]]")
    p.add_argument("--before", type=parse_day, help="taken before YYYY[-MM[-DD]]")
    p.add_argument("--kind", choices=["photo", "raw", "video"], action="append",
                   help="only this kind (repeatable)")
    p.add_argument("--camera", help='camera model, or "make model", any case; end with * for a '
                   'prefix: "iPhone 12*", "Canon*"')
    p.add_argument("--sort", choices=["relevance", "date"], default="relevance",
                   help="order of the matches (default relevance; date: newest first)")
    p.add_argument("--no-dates", action="store_true",
                   help='read "last summer", "in 2019", ... as words, not as a date filter')
    p.add_argument("--good", type=int, action="append", default=[], metavar="MEDIA_ID",
                   help="relevance feedback: more like this result (repeatable)")
    p.add_argument("--bad", type=int, action="append", default=[], metavar="MEDIA_ID",
                   help="relevance feedback: fewer like this result, and not it (repeatable)")
    p.add_argument("--person", action="append", default=[], metavar="NAME",
                   help="only photos with this person (name or id; repeatable: all of them)")
    p.add_argument("--any-person", action="append", default=[], metavar="NAME",
                   help="only photos with at least one of these people (repeatable)")
    p.add_argument("--not-person", action="append", default=[], metavar="NAME",
                   help="no photos with this person (repeatable: none of them)")
    p.add_argument("--only-person", action="append", default=[], metavar="NAME",
                   help="only photos with this person and no one else, recognised or not "
                        "(repeatable: these people alone)")
    p.add_argument("--no-people", action="store_true",
                   help='read names in the text as words, not as people ("Rose garden")')
    p.add_argument("--json", action="store_true", help="print JSON results")

    p = sub.add_parser("status", parents=[common], help="folders, counts, model and index health")
    p.add_argument("--json", action="store_true")
    p.add_argument("--errors", action="store_true", help="list files that could not be indexed")

    p = sub.add_parser("watch", parents=[common],
                       help="keep folders indexed as photos arrive (Ctrl-C stops)")
    p.add_argument("folders", nargs="*", help="folders to add (default: the library's folders)")
    p.add_argument("--reconcile-minutes", type=minutes, default=None,
                   help="full re-check interval (default 30, remembered)")

    p = sub.add_parser("people", parents=[common],
                       help="people found in the photos: list, name, merge, move, reject, hide")
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "suggestions", "faces", "name", "merge", "move", "reject",
                            "hide", "unhide", "recluster"],
                   help="list (default); suggestions (people seen in two photos); faces ID "
                        "(a person's faces; 'unsorted' for faces in no one); name ID NAME; "
                        "merge ID OTHER_ID (OTHER_ID joins ID); move FACE ID (the face is "
                        "this person's); reject ID FACE (the face is not this person's, for "
                        "good); hide ID; unhide ID; recluster")
    p.add_argument("values", nargs="*", help="the action's ids and name")
    p.add_argument("--hidden", action="store_true", help="list hidden people too")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("duplicates", parents=[common],
                       help="groups of near-identical photos (never deletes anything)")
    p.add_argument("--threshold", type=fraction, default=0.95,
                   help="similarity from 0 to 1 (default 0.95)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("explain", parents=[common],
                       help="why a photo matches a query: words, chips, score, where")
    p.add_argument("path", help="a photo of the library")
    p.add_argument("query", help="the query, as typed")
    p.add_argument("--json", action="store_true",
                   help='print {"score", "words", "chips", "people", "grid"}')
    p.add_argument("--out", metavar="F.png", help="write the picture with the heatmap over it")

    p = sub.add_parser("remove", parents=[common], help="forget a folder and its photos")
    p.add_argument("folder")

    p = sub.add_parser("info", parents=[common],
                       help="what Snapseek reads from files: size, date, camera, GPS... "
                            "(no library needed)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("models", parents=[common],
                       help="the offered models: licence, languages, size, quality, speed here")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser

