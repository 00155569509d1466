"""Text read in a child process. Reading needs OpenCV, RapidOCR's code and its two networks:
about 100 MB that stayed in the app's process once a second pass had read a photo (OpenVINO
keeps some of a network's memory after it goes, and imports stay). In a child they end with
the pass, and the post-processing's Python (boxes, polygons) never holds the interpreter lock
of the window's process.

One child, started by `spawn` when a pass has a photo to read, kept between pictures and let go
when the pass has nothing left. A child that dies fails that picture; the pictures handed to it
after that one (the pass hands a few ahead) are each given once to a fresh child."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from core.children import WarmChild
from core.media.pixels import blank
from core.text.ocr import TextEnricher, TextLine

_child = WarmChild()
# a picture not read by then is given up (a network that hangs must not stop the pass)
PICTURE_TIMEOUT_S = 120.0
START_TIMEOUT_S = 120.0  # importing and compiling: about two seconds on a quiet machine
_enricher: TextEnricher | None = None  # the child's own


def _child_ready(threads: int) -> None:
    global _enricher
    if _enricher is None:
        _enricher = TextEnricher(threads)
    _enricher.load()


def _child_read(image: np.ndarray, threads: int) -> list[TextLine]:
    _child_ready(threads)
    return _enricher.read(image)


def stop() -> None:
    """Let the child go (its networks' memory with it); the next picture starts another."""
    _child.stop(wait=True)


def running() -> list[int]:
    return _child.pids


class TextEnricherApart(TextEnricher):
    """The text enricher with the reading in the child: `start` hands the picture over and
    returns at once, so the pass looks for faces and decodes the next photo meanwhile."""

    def load(self) -> None:
        self.starting()()

    def starting(self) -> Callable[[], None]:
        """The child asked to start now, and the call that waits until it has (so that it
        starts while the faces child does)."""
        try:
            ready = _child.later(START_TIMEOUT_S, _child_ready, self._threads)
        except BrokenProcessPool as exc:  # no child could be started: said by the wait
            failed = RuntimeError(f"the text reader's process could not start: {exc}")
            ready = None

        def wait() -> None:
            try:
                if ready is None:
                    raise failed
                ready()
            except TimeoutError:
                raise RuntimeError(f"the text reader did not start within "
                                   f"{START_TIMEOUT_S:.0f} s") from None
            except BrokenProcessPool as exc:
                raise RuntimeError(f"the text reader's process ended while it started: {exc}") \
                    from None

        return wait

    def close(self) -> None:
        stop()

    def run(self, image: np.ndarray, media) -> tuple[list, str | None]:
        return self.start(image, media)()

    def start(self, image: np.ndarray, media) -> Callable[[], tuple[list, str | None]]:
        if blank(image):
            return lambda: ([], None)
        answer = _child.later(PICTURE_TIMEOUT_S, _child_read, image, self._threads)

        def finish() -> tuple[list, str | None]:
            try:
                lines = answer()
            except TimeoutError as exc:  # a network hung on this picture: the pass goes on
                return [], f"reading text {exc}"
            return [(media.frame, line) for line in lines], None

        return finish
