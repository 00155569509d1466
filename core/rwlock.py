"""A lock for many readers or one writer, fair to readers that are already waiting."""

from __future__ import annotations

import threading
from contextlib import contextmanager


class RWLock:
    """Many readers or one writer: queries run together; add, delete and resize run alone.

    A writer coming back for its next turn (a rebuild adds batch after batch) lets readers
    that are already waiting go first: a query waits for one batch, never the whole rebuild."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._readers_waiting = 0
        self._writer = False

    @contextmanager
    def read(self):
        with self._cond:
            if self._writer:
                self._readers_waiting += 1
                try:  # a wait interrupted (Ctrl-C) must not leave writers waiting for ever
                    while self._writer:
                        self._cond.wait()
                finally:
                    self._readers_waiting -= 1
                    self._cond.notify_all()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self):
        with self._cond:
            while self._writer or self._readers or self._readers_waiting:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()
