"""`snapseek search`, `explain` and `duplicates`: what answers a query."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.cli.common import ProgressBar, _open
from core.query.who import chips
from core.search.scoring import parse_query
from core.types import SnapseekError
from core.words import format_seconds


def cmd_search(args) -> int:
    from core.search.ranking import Ranker

    # -k N: the N best; --all: everything ranked; neither: the relevant set (k None)
    k = args.top or (Ranker.ALL if args.all else None)
    images = []
    for image in args.image:  # before the model loads: a typo is told at once
        path = Path(image).expanduser()
        if not path.exists():
            raise SnapseekError(f"no such file: {image}")
        images.append((path, 1.0))
    with _open(args) as lib:
        if lib.is_empty():  # said at once: no model to load, nothing to download
            if args.json:
                print("[]")
            print("snapseek: nothing is indexed yet. Add a folder first: snapseek index "
                  "~/Pictures", file=sys.stderr)
            return 0
        # names of people and places the library knows, typed in the query, become filters
        # ("Anna at the beach in Portugal"): parse_query is the one place that reads them
        query, when = parse_query(args.query, k=k, dates=not args.no_dates,
                                  people=() if args.no_people else lib.person_names(),
                                  places=None if args.place else lib.place_names())
        query.images += images
        lib.subscribe(ProgressBar(sys.stderr.isatty()))  # a first search may download the model
        query.folder, query.camera, query.sort = args.folder, args.camera, args.sort
        if args.after is not None or args.before is not None:  # explicit dates win over words
            query.after, query.before = args.after, args.before
        query.kinds = frozenset(args.kind) if args.kind else None
        query.good, query.bad = args.good, args.bad
        for mine, given in ((query.persons, args.person), (query.persons_any, args.any_person),
                            (query.persons_not, args.not_person),
                            (query.persons_only, args.only_person)):
            mine[:] = dict.fromkeys([*given, *mine])
        query.place = args.place or query.place
        if query.is_empty() and not query.has_filters():
            raise SnapseekError("Give a text query, --image PATH or a filter.")
        if not args.json:
            if when is not None:
                print(f"(taken {when.label}: from \"{when.phrase}\"; --no-dates reads it as "
                      "words)", file=sys.stderr)
            if query.place and not args.place:
                print(f"(in {query.place}: from your photos' places)", file=sys.stderr)
            if query.who is not None:
                said = ", ".join(label for label, _ in chips(query.who))
                print(f"({said}: people from the text; --no-people reads names as words)",
                      file=sys.stderr)
        results = lib.search(query)
    if args.json:
        print(json.dumps([r.to_json() for r in results]))
    else:
        for rank, r in enumerate(results, 1):
            moment = f"  @ {format_seconds(r.at_s)}" if r.at_s is not None else ""
            people = f"  ({', '.join(r.people)})" if r.people else ""
            away = f"  [{r.away}]" if r.away else ""
            print(f"{rank:3d}  {r.score:.4f}  {r.path}{moment}{people}{away}")
        if not results:
            print("No results.", file=sys.stderr)
    return 0


def cmd_explain(args) -> int:
    """Why a photo matches a query: words, chips, score and where in the picture."""
    with _open(args) as lib:
        query, _ = parse_query(args.query, k=None, people=lib.person_names(),
                               places=lib.place_names())
        why = lib.explain(args.path, query)
        if args.out and not why["grid"]:
            raise SnapseekError("No picture to write: the query holds filters only, nothing "
                                "to look for in the photo.")
        if args.out:
            import numpy as np

            from core.media.imaging import open_image
            from core.search.explain import overlay

            picture = open_image(args.path, min_side=1024).image
            overlay(picture, np.array(why["grid"])).save(args.out)
    if args.json:
        print(json.dumps(why, ensure_ascii=False))
        return 0
    print(f"score    {why['score']:.4f}" if why["score"] is not None
          else "score    (filters only: nothing to score)" if not why["grid"]
          else "score    (not indexed yet)")
    for where, words in why["words"].items():
        print(f"words    {', '.join(words)} (in its {where})")
    for chip in why["chips"]:
        print(f"chip     {chip}")
    if why.get("people"):
        print(f"people   {', '.join(why['people'])} (asked for, in the photo)")
    if why["grid"]:
        print("where    (higher = matters more for this query; top row first)")
    for row in why["grid"]:
        print("         " + " ".join(f"{v:.2f}" for v in row))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def cmd_duplicates(args) -> int:
    with _open(args) as lib:
        groups = lib.duplicates(args.threshold)
    if args.json:
        print(json.dumps([[r.to_json() for r in g] for g in groups]))
        return 0
    for n, group in enumerate(groups, 1):
        print(f"Group {n}: {len(group)} photos")
        for r in group:
            print(f"  {r.score:.4f}  {r.path}")
    if not groups:
        print("No near-duplicates at this threshold.", file=sys.stderr)
    return 0

