"""Faces found in a child process. dlib holds Python's interpreter lock through a whole
detection (~0.1 s on a 1280 px picture) and each embedding (~0.1 s a face): in the app's own
process every other thread, the window's included, would wait meanwhile, and a second thread
could not help. In a child, dlib runs on a core of its own while the pass reads text and decodes
the next photo here.

One child for the app, started by `spawn` (it holds nothing of the app, and works in a frozen
app), kept between pictures and let go when the pass has nothing left. A child that dies (a
picture that crashes dlib) fails that picture only: the next one gets a fresh child."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout  # (not the builtin before 3.11)
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from core.children import WarmChild
from core.people.faces import Face, FaceEnricher, FaceModels, find_faces

_child = WarmChild()
# a picture dlib has not finished by then is given up (a hung decoder must not stop the pass)
PICTURE_TIMEOUT_S = 120.0
START_TIMEOUT_S = 120.0  # loading the models: about a second on a quiet machine


def _child_ready() -> None:
    FaceModels.get()


def _child_find(image: np.ndarray, frame: int, crops: bool) -> tuple[list[Face], str | None]:
    return find_faces(image, frame=frame, crops=crops)


def start() -> None:
    """The child, with its models loaded: raises what loading them raised (FaceModelsMissing)."""
    future, end_child = _child.submit(_child_ready)
    try:
        future.result(START_TIMEOUT_S)
    except BrokenProcessPool:
        end_child()
        raise
    except FutureTimeout:
        end_child()
        raise RuntimeError(f"the face models did not load within {START_TIMEOUT_S:.0f} s") \
            from None


def submit(image: np.ndarray, frame: int = 0, crops: bool = True
           ) -> tuple[Future, Callable[[], None]]:
    """find_faces(image) in the child: the future of find_faces's result, and the call that
    ends the child running it (should it never finish: the pass goes on, and the app can quit;
    the next picture starts another)."""
    return _child.submit(_child_find, image, frame, crops)


def stop() -> None:
    """Let the child go (its models' memory with it); the next picture starts another."""
    _child.stop(wait=True)


class FaceEnricherApart(FaceEnricher):
    """The faces enricher with dlib in the child: `start` hands the picture over and returns at
    once, so the pass reads text meanwhile."""

    def load(self) -> None:
        start()

    def close(self) -> None:
        stop()

    def start(self, image: np.ndarray, media) -> Callable[[], tuple[list[Face], str | None]]:
        handed = submit(image, media.frame, self.thumbs is not None)

        def finish() -> tuple[list[Face], str | None]:
            future, end_child = handed
            try:
                try:
                    found = future.result(PICTURE_TIMEOUT_S)
                except CancelledError:  # its child was let go before it began: once more
                    future, end_child = submit(image, media.frame, self.thumbs is not None)
                    found = future.result(PICTURE_TIMEOUT_S)
            except FutureTimeout:  # dlib hung on this picture: it fails, the pass goes on
                end_child()
                found = ([], f"finding faces took more than {PICTURE_TIMEOUT_S:.0f} s")
            return self._keep(found, media)

        return finish
