"""Faces found in a child process. dlib holds Python's interpreter lock through a whole
detection (~0.1 s on a 1280 px picture) and each embedding (~0.1 s a face): in the app's own
process every other thread, the window's included, would wait meanwhile, and a second thread
could not help. In a child, dlib runs on a core of its own while the pass reads text and decodes
the next photo here.

One child for the app, started by `spawn` (it holds nothing of the app, and works in a frozen
app), kept between pictures and let go when the pass has nothing left. A child that dies (a
picture that crashes dlib) fails that picture; the pictures handed to it after that one (the
pass hands a few ahead) are each given once to a fresh child."""

from __future__ import annotations

from collections.abc import Callable

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
    try:
        _child.later(START_TIMEOUT_S, _child_ready)()
    except TimeoutError:
        raise RuntimeError(f"the face models did not load within {START_TIMEOUT_S:.0f} s") \
            from None


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
        answer = _child.later(PICTURE_TIMEOUT_S, _child_find, image, media.frame,
                              self.thumbs is not None)

        def finish() -> tuple[list[Face], str | None]:
            try:
                found = answer()
            except TimeoutError as exc:  # dlib hung on this picture: it fails, the pass goes on
                found = ([], f"finding faces {exc}")
            return self._keep(found, media)

        return finish
