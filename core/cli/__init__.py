"""`snapseek` on the command line: index, search, status and watch, with --json output."""

from __future__ import annotations

import logging
import sys

from core.cli.about import cmd_info, cmd_models, cmd_status
from core.cli.indexing import cmd_index, cmd_remove, cmd_watch
from core.cli.parser import build_parser
from core.cli.naming import cmd_people
from core.cli.searching import cmd_duplicates, cmd_explain, cmd_search
from core.store import StorageError
from core.types import SnapseekError, one_line

log = logging.getLogger("snapseek")
INDEXING_COMMANDS = ("index", "watch")  # commands whose partial work is kept on a failure

COMMANDS = {"index": cmd_index, "search": cmd_search, "status": cmd_status, "watch": cmd_watch,
            "duplicates": cmd_duplicates, "remove": cmd_remove, "info": cmd_info,
            "models": cmd_models, "explain": cmd_explain, "people": cmd_people}


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # the frozen app's decoding child (core/media/imaging.py)
    args = build_parser().parse_args(argv)
    # file names that are not UTF-8 print as the bytes they are, never as a crash
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    if argv is None:  # the command itself: other libraries' chatter goes to the log file
        from core.terminal import route

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
        print(f"snapseek: {one_line(exc)}.{kept}", file=sys.stderr)
        return 1
    except StorageError as exc:  # a damaged catalog, or one another program changed
        log.info("details", exc_info=True)
        print(f"snapseek: the library's catalog failed: {one_line(exc)} (it may be damaged "
              "or changed by another program; -v shows the details)", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. a RuntimeError from hnswlib or torch: one line, not a dump
        log.info("details", exc_info=True)
        print(f"snapseek: unexpected error: {one_line(exc)} (-v shows the details)",
              file=sys.stderr)
        return 1


