"""The vectors of recent text queries, shared by the searches that run at once."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class TextCache:
    """The `size` most recently used text vectors. Thread-safe: the app runs two searches at
    a time, and a look-up beside an eviction must neither fail nor lose the cache's order."""

    def __init__(self, size: int = 256):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        return len(self._vectors)
