"""`snapseek` on the command line: index, search, status and watch, with --json output."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .store import StorageError
from .search import format_seconds, parse_query
from .types import Notice, Progress, SnapseekError, State

log = logging.getLogger("snapseek")
INDEXING_COMMANDS = ("index", "watch")  # commands whose partial work is kept on a failure


class Parser(argparse.ArgumentParser):
    """Misused arguments get one line (and exit status 2), not the whole usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def at_least_one(text: str) -> int:
    """A whole number of 1 or more (how many results, threads...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


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
    p.add_argument("--json", action="store_true", help="print JSON results")

    p = sub.add_parser("status", parents=[common], help="folders, counts, model and index health")
    p.add_argument("--json", action="store_true")
    p.add_argument("--errors", action="store_true", help="list files that could not be indexed")

    p = sub.add_parser("watch", parents=[common],
                       help="keep folders indexed as photos arrive (Ctrl-C stops)")
    p.add_argument("folders", nargs="*", help="folders to add (default: the library's folders)")
    p.add_argument("--reconcile-minutes", type=float, default=None,
                   help="full re-check interval (default 30, remembered)")

    p = sub.add_parser("people", parents=[common],
                       help="people found in the photos: list, name, merge, hide, recluster")
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "name", "merge", "hide", "unhide", "recluster"],
                   help="list (default); name ID NAME; merge ID OTHER_ID (OTHER_ID joins ID); "
                        "hide ID; unhide ID; recluster")
    p.add_argument("values", nargs="*", help="the action's ids and name")
    p.add_argument("--hidden", action="store_true", help="list hidden people too")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("duplicates", parents=[common],
                       help="groups of near-identical photos (never deletes anything)")
    p.add_argument("--threshold", type=float, default=0.95,
                   help="similarity from 0 to 1 (default 0.95)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("explain", parents=[common],
                       help="why a photo matches a query: words, chips, score, where")
    p.add_argument("path", help="a photo of the library")
    p.add_argument("query", help="the query, as typed")
    p.add_argument("--json", action="store_true",
                   help='print {"score", "words", "chips", "grid"}')
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


class ProgressBar:
    """A tqdm bar on a terminal; silent otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._state = None

    def __call__(self, event: object) -> None:
        if not self.enabled or not isinstance(event, Progress):
            return
        from tqdm import tqdm

        if event.state != self._state:
            self.close()
            self._state = event.state
            if event.state in (State.SCANNING, State.INDEXING, State.FINDING_FACES,
                               State.RE_EMBEDDING):
                desc = (f"Re-embedding with {event.model}" if event.state == State.RE_EMBEDDING
                        else event.state)
                self._bar = tqdm(total=event.total or None, unit=" photos", desc=desc,
                                 file=sys.stderr, dynamic_ncols=True)
        if self._bar is not None:
            self._bar.n = (event.done + event.failed if event.state == State.INDEXING
                           else event.done if event.state in (State.FINDING_FACES, State.RE_EMBEDDING)
                           else event.found)
            if event.total:
                self._bar.total = event.total
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _open(args, **kw):
    from .library import Library

    return Library(args.home, model=args.model, device=args.device or "auto",
                   threads=args.threads, **kw)


def cmd_index(args) -> int:
    lib = _open(args)
    bar = ProgressBar(sys.stderr.isatty() and not args.json)
    lib.subscribe(bar)
    try:
        lib.load_model()  # the model first: nothing is written when it is unavailable
        for folder in args.folders:
            lib.add_folder(folder)
        if not lib.folders():
            raise SnapseekError("No folders yet: run `snapseek index FOLDER`.")
        plan = lib.begin_switch()  # --model B on a library of model A: B is made beside A
        if plan:
            print(f"snapseek: {plan['text']}", file=sys.stderr)
        report = lib.update(on_progress=bar)
        faces = {} if report.cancelled else _find_faces(lib, args, bar)
    except KeyboardInterrupt:
        lib.cancel()
        print("snapseek: interrupted; what was indexed is kept", file=sys.stderr)
        return 130
    finally:
        bar.close()
        lib.close()
    s = report.scan
    if args.json:
        print(json.dumps({"found": s.found, "new": s.new, "changed": s.changed,
                          "unchanged": s.unchanged, "renamed": s.renamed, "copied": s.copied,
                          "removed": s.removed, "embedded": report.embedded,
                          "failed": report.failed, "seconds": round(report.seconds, 2),
                          **faces}))
    else:
        print(f"{s.found} photos: {s.new} new, {s.changed} changed, {s.renamed} renamed, "
              f"{s.copied} copied, {s.removed} removed; embedded {report.embedded}, "
              f"failed {report.failed} in {report.seconds:.1f}s")
        if faces:
            print(f"faces: looked at {faces['faces_done']} photos ({faces['faces_failed']} "
                  f"unreadable), {faces['people']} people")
    return 0


def _find_faces(lib, args, bar) -> dict:
    """The second pass after indexing (unless --no-faces): faces found, people sorted."""
    if args.no_faces or not (lib.faces_enabled or lib.text_enabled):
        return {}
    try:
        done, failed, _ = lib.enrich(on_progress=bar)
    except SnapseekError as exc:  # no face models: the photos are searchable all the same
        print(f"snapseek: {exc}", file=sys.stderr)
        return {}
    return {"faces_done": done, "faces_failed": failed, "people": len(lib.people())}


def parse_day(text: str) -> float:
    """YYYY, YYYY-MM or YYYY-MM-DD as the start of that period (core.dates.day_start)."""
    import datetime as dt

    from .dates import day_start

    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            when = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return day_start(when.date())
    raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")


def cmd_search(args) -> int:
    from .ranking import Ranker

    # -k N: the N best; --all: everything ranked; neither: the relevant set (k None)
    k = args.top or (Ranker.ALL if args.all else None)
    query, when = parse_query(args.query, k=k, dates=not args.no_dates)
    for image in args.image:  # before the model loads: a typo is told at once
        path = Path(image).expanduser()
        if not path.exists():
            raise SnapseekError(f"no such file: {image}")
        query.images.append((path, 1.0))
    query.folder, query.camera, query.sort = args.folder, args.camera, args.sort
    if args.after is not None or args.before is not None:  # explicit dates win over words
        query.after, query.before = args.after, args.before
    query.kinds = frozenset(args.kind) if args.kind else None
    query.good, query.bad = args.good, args.bad
    query.persons = list(args.person)
    query.place = args.place
    if query.is_empty() and not query.has_filters():
        raise SnapseekError("Give a text query, --image PATH or a filter.")
    if when is not None and not args.json:
        print(f"(taken {when.label}: from \"{when.phrase}\"; --no-dates reads it as words)",
              file=sys.stderr)
    with _open(args) as lib:
        query = people_in_query(query, lib.person_names())  # "Anna at the beach"
        if query.place is None:
            query = place_in_query(query, lib.place_names())  # "beach in Portugal"
            if query.place and not args.json:
                print(f"(in {query.place}: from your photos' places)", file=sys.stderr)
        results = lib.search(query)
    if args.json:
        print(json.dumps([r.to_json() for r in results]))
    else:
        for rank, r in enumerate(results, 1):
            moment = f"  @ {format_seconds(r.at_s)}" if r.at_s is not None else ""
            print(f"{rank:3d}  {r.score:.4f}  {r.path}{moment}")
        if not results:
            print("No results.", file=sys.stderr)
    return 0


def cmd_status(args) -> int:
    with _open(args) as lib:
        status = lib.status()
        errors = lib.errors() if args.errors else []
    if args.errors:
        status["errors"] = [{"path": p, "reason": r} for p, r in errors]
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"Library  {status['home']}")
    print(f"Model    {status['model']}")
    print(f"Photos   {status['media_count']} ({status['indexed_count']} indexed, "
          f"{status['error_count']} could not be read)")
    print(f"Index    {status['index']}")
    for f in status["folders"]:
        paused = "  (paused)" if f["paused"] else ""
        print(f"  {f['path']}  {f['media_count']} photos, {f['errors']} errors{paused}")
    for e in status.get("errors", []):
        print(f"  ! {e['path']}: {e['reason']}")
    return 0


def cmd_watch(args) -> int:
    import signal
    import threading

    lib = _open(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bar = ProgressBar(sys.stderr.isatty())
    lib.subscribe(bar)
    lib.subscribe(lambda e: isinstance(e, Notice) and print(f"snapseek: {e.text}", file=sys.stderr))
    try:
        lib.load_model()
        for folder in args.folders:
            lib.add_folder(folder)
        if not lib.folders():
            raise SnapseekError("No folders yet: run `snapseek watch FOLDER`.")
        if args.reconcile_minutes is not None:
            lib.catalog.set_meta("reconcile_every", str(args.reconcile_minutes * 60))
        lib.start_watching()
        print(f"Watching {len(lib.folders())} folder(s); Ctrl-C stops.", file=sys.stderr)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        lib.close()  # finishes the batch in flight and saves the index
        bar.close()
    print("Stopped; everything indexed so far is saved.", file=sys.stderr)
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


def cmd_info(args) -> int:
    """Each file as Snapseek reads it, from the file itself; loads no model, opens no library."""
    from .probe import info

    found = [info(path) for path in args.paths]
    _what_the_library_knows(args, found)
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    for item in [] if args.json else found:
        if "error" in item:
            print(f"{item['path']}: {item['error']}")
            continue
        print(item["path"])
        duration = (f", {format_seconds(item['duration_s'])}" if item.get("duration_s")
                    else "")
        rows = [("kind", f"{item['kind']}, {item['width']}×{item['height']}{duration}"),
                ("taken", f"{item['taken']} ({item['taken_source']})"),
                ("camera", item["camera"]), ("lens", item["lens"]),
                ("gps", item["gps"] and f"{item['gps']['lat']:.6f}, {item['gps']['lon']:.6f}"),
                ("keywords", ", ".join(item["keywords"])), ("caption", item["caption"]),
                ("place", item.get("place") and ", ".join(
                    dict.fromkeys(v for v in item["place"].values() if v))),
                ("text", " / ".join(item.get("text") or [])),
                ("people", ", ".join(item.get("people") or []))]
        for name, value in rows:
            if value:
                print(f"  {name:<9} {value}")
    return 1 if any("error" in item for item in found) else 0


def _what_the_library_knows(args, found: list[dict]) -> None:
    """The place of each file with GPS (offline), and, for files in the library, the text read
    in it and the people in it. Opens the library only when it exists; loads no model."""
    from .places import locate

    for item in found:
        if "error" in item:
            continue
        gps = item.get("gps")
        place = locate(gps["lat"], gps["lon"]) if gps else None
        item["place"] = ({"city": place.city, "region": place.region, "country": place.country}
                         if place else None)
        item["text"], item["people"] = [], []
    from .library import default_home

    home = Path(args.home).expanduser() if args.home else default_home()
    if not (home / "catalog.db").exists() or not any("error" not in i for i in found):
        return
    with _open(args) as lib:
        for item in found:
            if "error" not in item:
                known = lib.about(item["path"])
                item["text"], item["people"] = known["text"], known["people"]


def cmd_explain(args) -> int:
    """Why a photo matches a query: words, chips, score and where in the picture."""
    with _open(args) as lib:
        query, _ = parse_query(args.query, k=None)
        query = people_in_query(query, lib.person_names())
        query = place_in_query(query, lib.place_names())
        why = lib.explain(args.path, query)
        if args.out:
            import numpy as np

            from .explain import overlay
            from .imaging import open_image

            picture = open_image(args.path, min_side=1024).image
            overlay(picture, np.array(why["grid"])).save(args.out)
    if args.json:
        print(json.dumps(why, ensure_ascii=False))
        return 0
    print(f"score    {why['score']:.4f}" if why["score"] is not None
          else "score    (not indexed yet)")
    for where, words in why["words"].items():
        print(f"words    {', '.join(words)} (in its {where})")
    for chip in why["chips"]:
        print(f"chip     {chip}")
    print("where    (higher = matters more for this query; top row first)")
    for row in why["grid"]:
        print("         " + " ".join(f"{v:.2f}" for v in row))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def cmd_remove(args) -> int:
    with _open(args) as lib:
        n = lib.remove_folder(args.folder)
    print(f"Forgot {args.folder} and its {n} photos (nothing was deleted on disk).")
    return 0


def cmd_models(args) -> int:
    """Every offered model, the default marked; reads no library and loads no model."""
    from .models import DEFAULT_MODEL, MODELS, SIZE_NOTE, SPEED_COMMAND

    rows = [m.as_dict(DEFAULT_MODEL) for m in MODELS]
    if args.json:
        print(json.dumps({"default": DEFAULT_MODEL, "models": rows, "size_mb": SIZE_NOTE,
                          "photos_per_s": f"median of three runs of `{SPEED_COMMAND}`"},
                         indent=2, ensure_ascii=False))
        return 0
    for m in rows:
        recall = ", ".join(f"{k} {v}%" for k, v in m["xm3600_recall"].items()) or "not published"
        r1 = f"{m['coco_t2i_r1']}%" if m["coco_t2i_r1"] is not None else "not published"
        print(f"{'*' if m['default'] else ' '} {m['spec']}  ({m['name']})\n"
              f"    licence {m['licence']}{'' if m['open'] else ' (not an open licence)'}, "
              f"{m['languages']}, {m['size_mb']} MB\n"
              f"    MSCOCO text→image R@1 {r1}, Crossmodal-3600 recall: {recall}\n"
              f"    speed here: {_speed(m)}; memory with a library open: "
              f"{str(m['rss_mb']) + ' MB' if m['rss_mb'] else 'not measured'}")
    print("* the default for new libraries; a library keeps the model it was made with.")
    return 0


def _speed(m: dict) -> str:
    if not m["photos_per_s"]:
        return "not measured"
    derived = " (derived, see docs/PERFORMANCE.md)" if m["speed_note"].startswith("derived") else ""
    return f"{m['photos_per_s']} photos/s{derived}"


COMMANDS = {"index": cmd_index, "search": cmd_search, "status": cmd_status, "watch": cmd_watch,
            "duplicates": cmd_duplicates, "remove": cmd_remove, "info": cmd_info, "models": cmd_models,
            "explain": cmd_explain}


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # the frozen app's decoding child (core/imaging.py)
    args = build_parser().parse_args(argv)
    # file names that are not UTF-8 print as the bytes they are, never as a crash
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    if argv is None:  # the command itself: other libraries' chatter goes to the log file
        from .terminal import route

        route(args.verbose)
    else:  # called from Python (tests, scripts): the caller's streams, nothing redirected
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except SnapseekError as exc:
        print(f"snapseek: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("snapseek: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, unwritable home: the batch failed, the rest is kept
        log.info("details", exc_info=True)
        kept = (" Everything indexed before this is kept." if args.command in INDEXING_COMMANDS
                else "")
        print(f"snapseek: {_first_line(exc)}.{kept}", file=sys.stderr)
        return 1
    except StorageError as exc:  # a damaged catalog, or one another program changed
        log.info("details", exc_info=True)
        print(f"snapseek: the library's catalog failed: {_first_line(exc)} (it may be damaged "
              "or changed by another program; -v shows the details)", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. a RuntimeError from hnswlib or torch: one line, not a dump
        log.info("details", exc_info=True)
        print(f"snapseek: unexpected error: {_first_line(exc)} (-v shows the details)",
              file=sys.stderr)
        return 1


def _first_line(exc: BaseException) -> str:
    """An exception's message on one line (torch's run over several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def place_in_query(query, known):
    """A place the library has photos of, typed in the query, becomes a place filter."""
    from .places import find_place

    texts = []
    for text, weight in query.texts:
        if weight > 0 and query.place is None and known:
            match = find_place(text, known)
            if match is not None:
                query.place, text = match.name, match.rest
        if text.strip():
            texts.append((text, weight))
    query.texts = texts
    return query


def people_in_query(query, names):
    """Names of people typed in the query ("Anna at the beach") become person filters."""
    from .search import find_people

    texts = []
    for text, weight in query.texts:
        if weight > 0:
            text, found = find_people(text, names)
            query.persons += [n for n in found if n not in query.persons]
        if text.strip():
            texts.append((text, weight))
    query.texts = texts
    return query


def cmd_people(args) -> int:
    values = args.values
    wanted = {"list": 0, "name": 2, "merge": 2, "hide": 1, "unhide": 1, "recluster": 0}
    if len(values) != wanted[args.action] and not (args.action == "name" and len(values) > 2):
        raise SnapseekError(f"`snapseek people {args.action}` takes {wanted[args.action]} "
                            "values (see `snapseek people --help`).")
    ids = []
    for value in values[: 2 if args.action == "merge" else 1] if args.action != "list" else []:
        if not value.isdigit():
            raise SnapseekError(f"not a person id: {value!r} (see `snapseek people`)")
        ids.append(int(value))
    with _open(args) as lib:
        if args.action == "name":
            lib.name_person(ids[0], " ".join(values[1:]))
            print(f"Person {ids[0]} is now {' '.join(values[1:]).strip() or 'unnamed'}.")
        elif args.action == "merge":
            lib.merge_people(ids[0], ids[1])
            print(f"Person {ids[1]} merged into person {ids[0]}.")
        elif args.action in ("hide", "unhide"):
            lib.hide_person(ids[0], args.action == "hide")
            print(f"Person {ids[0]} {'hidden' if args.action == 'hide' else 'shown'}.")
        elif args.action == "recluster":
            stats = lib.recluster()
            print(json.dumps(stats) if args.json else
                  f"{stats['people']} people; {stats['sorted']} faces sorted, "
                  f"{stats['unsorted']} unsorted.")
        else:
            people = [{"id": p.id, "name": p.name, "count": p.photos, "hidden": p.hidden,
                       "paths": [r.path for r in lib.person_photos(p.id)]}
                      for p in lib.people(hidden=args.hidden)]
            if args.json:
                print(json.dumps(people, ensure_ascii=False))
            else:
                for p in people:
                    hidden = "  (hidden)" if p["hidden"] else ""
                    print(f"{p['id']:5d}  {p['name'] or '(unnamed)'}  {p['count']} photos{hidden}")
                if not people:
                    print("No people yet: `snapseek index` finds faces after indexing.",
                          file=sys.stderr)
    return 0


COMMANDS["people"] = cmd_people


if __name__ == "__main__":
    sys.exit(main())
