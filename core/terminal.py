"""What a terminal shows of a `snapseek` command: its own lines only.

Other libraries speak too: torch's FutureWarnings through Python's warnings, libtiff's
"TIFFFetchNormalTag ..." and "Fax4Decode: Bad code word" straight to the process's stderr from
C. Those go to the log file (`log_file()`), and to the terminal as well with -v. Snapseek's own
warnings (its loggers) and its printed lines stay on the terminal."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

OWN = ("core", "snapseek", "desktop")  # loggers whose warnings are Snapseek's own lines
FORMAT = "%(levelname)s %(name)s: %(message)s"
native = logging.getLogger("native")  # what C code wrote to the process's stderr


def log_file() -> Path:
    """The log, in the app's cache folder (never beside the user's photos)."""
    from .thirdparty import cache_folder

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
    _capture_native_stderr(terminal)


def _capture_native_stderr(terminal: logging.StreamHandler) -> None:
    """Point file descriptor 2 at a pipe read by a thread that logs each line as `native`;
    Python's own sys.stderr keeps the terminal (a copy of the old descriptor 2)."""
    try:
        sys.stderr.flush()
        kept = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, ValueError):  # no descriptor 2 (a GUI launcher): nothing to capture
        return
    tty = os.fdopen(kept, "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None)
                    or "utf-8", errors="surrogateescape")
    sys.stderr = tty
    terminal.setStream(tty)
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    native.warning("%s", text)

    reader = threading.Thread(target=pump, name="snapseek-stderr", daemon=True)
    reader.start()

    def finish() -> None:  # every line written before exit reaches the log
        try:
            os.dup2(kept, 2)  # closes the pipe's last write end: the reader sees its end
        except OSError:
            return
        reader.join(timeout=0.5)

    atexit.register(finish)
