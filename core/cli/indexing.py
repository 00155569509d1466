"""`snapseek index`, `watch` and `remove`: what changes a library."""

from __future__ import annotations

import json
import sys

from core.cli.common import ProgressBar, _open
from core.types import GoneHeld, Notice, SnapseekError


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
        report = lib.update(on_progress=bar, forget_missing=args.forget_missing)
        faces = {} if report.cancelled else _find_faces(lib, args, bar)
    except KeyboardInterrupt:
        lib.cancel()
        print("snapseek: interrupted; what was indexed is kept", file=sys.stderr)
        return 130
    finally:
        bar.close()
        lib.close()
    s = report.scan
    for away in s.away:
        print(f"snapseek: {away.folder} is {away.line()}: its {away.photos} photos are kept, "
              "and searchable, until it is back", file=sys.stderr)
    for held in s.held:
        print(f"snapseek: {held.line()}; if they were deleted, `snapseek index "
              "--forget-missing` forgets them", file=sys.stderr)
    if args.json:
        print(json.dumps({"found": s.found, "new": s.new, "changed": s.changed,
                          "unchanged": s.unchanged, "renamed": s.renamed, "copied": s.copied,
                          "removed": s.removed, "embedded": report.embedded,
                          "failed": report.failed, "seconds": round(report.seconds, 2),
                          "away": [a.to_json() for a in s.away],
                          "held": [{"folder": h.folder, "gone": h.gone, "photos": h.photos}
                                   for h in s.held], **faces}))
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


def cmd_watch(args) -> int:
    import signal
    import threading

    lib = _open(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bar = ProgressBar(sys.stderr.isatty())
    lib.subscribe(bar)
    lib.subscribe(lambda e: isinstance(e, Notice) and print(f"snapseek: {e.text}", file=sys.stderr))
    lib.subscribe(lambda e: isinstance(e, GoneHeld) and print(
        f"snapseek: {e.line()}; if they were deleted, `snapseek index --forget-missing` "
        "forgets them", file=sys.stderr))
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


def cmd_remove(args) -> int:
    with _open(args) as lib:
        n = lib.remove_folder(args.folder)
    print(f"Forgot {args.folder} and its {n} photos (nothing was deleted on disk).")
    return 0

