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
LOG_BYTES = 2_000_000  # the log's size when it rotates (one old log is kept beside it)


def log_file() -> Path:
    """The log, in the app's cache folder (never beside the user's photos)."""
    from core.thirdparty import cache_folder

    return Path(cache_folder()) / "snapseek.log"


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file, rotated at LOG_BYTES; once C's descriptor 2 writes to it, descriptor 2
    follows each rotation to the new file (else C's lines would go to the old file, and after
    the next rotation to a deleted one)."""

    native = False

    def doRollover(self) -> None:  # noqa: N802 - logging's name
        super().doRollover()
        if self.native:
            _point_native_stderr(self.baseFilename)


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
        to_file = _LogFile(path, maxBytes=LOG_BYTES, backupCount=1, encoding="utf-8",
                           errors="replace")
    except OSError:  # a read-only cache: the terminal alone (-v shows everything there)
        to_file = None
    if to_file is not None:
        to_file.setFormatter(logging.Formatter("%(asctime)s " + FORMAT))
        root.addHandler(to_file)
    logging.captureWarnings(True)  # warnings.warn -> logger "py.warnings"
    if to_file is not None and not verbose:  # with -v, C's lines stay on the terminal
        to_file.native = _native_stderr_to(path, terminal)


def _native_stderr_to(path: Path, terminal: logging.StreamHandler) -> bool:
    """Point file descriptor 2, where C code writes, at the end of the log file; Python's own
    sys.stderr keeps the terminal (a copy of the old descriptor 2). No thread reads a pipe in
    between: a library flooding stderr while it holds the interpreter lock cannot block on a
    full pipe, and what a crash writes last is in the log, not lost in a pipe."""
    try:
        sys.stderr.flush()
        kept = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a GUI launcher): nothing to point
        return False
    if not _point_native_stderr(path):
        os.close(kept)
        return False
    tty = os.fdopen(kept, "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None)
                    or "utf-8", errors="surrogateescape")
    sys.stderr = tty
    terminal.setStream(tty)
    faulthandler.enable(file=tty)  # a crash's Python traceback still reaches the terminal
    return True


def _point_native_stderr(path: str | Path) -> bool:
    """Descriptor 2 writes at the end of the file `path` from now on."""
    try:
        native = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        os.dup2(native, 2)
    finally:
        os.close(native)
    return True
