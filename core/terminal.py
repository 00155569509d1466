"""What a terminal shows of a `snapseek` command: its own lines only.

Other libraries speak too: torch's FutureWarnings through Python's warnings, libtiff's
"TIFFFetchNormalTag ..." and "Fax4Decode: Bad code word" straight to the process's stderr from
C. Those go to the log file (`log_file()`; C's lines as they are), and stay on the terminal
with -v. Snapseek's own warnings (its loggers) and its printed lines stay on the terminal."""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import sys
from pathlib import Path

OWN = ("core", "snapseek", "desktop")  # loggers whose warnings are Snapseek's own lines
FORMAT = "%(levelname)s %(name)s: %(message)s"


def log_file() -> Path:
    """The log, in the app's cache folder (never beside the user's photos)."""
    from core.thirdparty import cache_folder

    return Path(cache_folder()) / "snapseek.log"


class _Own(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] in OWN and record.levelno >= logging.WARNING


def route(verbose: bool) -> None:
    """Set up logging for the command line (once per process, before any work): everything to
    the log file; to the terminal, Snapseek's own warnings, or everything with `verbose`."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setFormatter(logging.Formatter(FORMAT))
    if not verbose:
        terminal.addFilter(_Own())
    root.addHandler(terminal)
    try:
        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=1,
                                                       encoding="utf-8", errors="replace")
    except OSError:  # a read-only cache: the terminal alone (-v shows everything there)
        to_file = None
    if to_file is not None:
        to_file.setFormatter(logging.Formatter("%(asctime)s " + FORMAT))
        root.addHandler(to_file)
    logging.captureWarnings(True)  # warnings.warn -> logger "py.warnings"
    if to_file is not None and not verbose:  # with -v, C's lines stay on the terminal
        _native_stderr_to(path, terminal)


def _native_stderr_to(path: Path, terminal: logging.StreamHandler) -> None:
    """Point file descriptor 2, where C code writes, at the end of the log file; Python's own
    sys.stderr keeps the terminal (a copy of the old descriptor 2). No thread reads a pipe in
    between: a library flooding stderr while it holds the interpreter lock cannot block on a
    full pipe, and what a crash writes last is in the log, not lost in a pipe."""
    try:
        sys.stderr.flush()
        kept = os.dup(2)
        native = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except (OSError, ValueError):  # no descriptor 2 (a GUI launcher): nothing to point
        return
    tty = os.fdopen(kept, "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None)
                    or "utf-8", errors="surrogateescape")
    sys.stderr = tty
    terminal.setStream(tty)
    os.dup2(native, 2)
    os.close(native)
    faulthandler.enable(file=tty)  # a crash's Python traceback still reaches the terminal
