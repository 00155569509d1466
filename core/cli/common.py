"""What every command shares: the library it opens and the progress bar on a terminal."""

from __future__ import annotations

import sys

from core.types import Progress, State


class ProgressBar:
    """A tqdm bar on a terminal; silent otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._state = None

    def __call__(self, event: object) -> None:
        if not self.enabled or not isinstance(event, Progress):
            return
        from tqdm import tqdm

        if event.state != self._state:
            self.close()
            self._state = event.state
            if event.state == State.DOWNLOADING:  # bytes: tqdm shows the speed and time left
                self._bar = tqdm(total=event.total or None, unit="B", unit_scale=True,
                                 unit_divisor=1024, desc=f"Downloading {event.model}",
                                 file=sys.stderr, dynamic_ncols=True)
            elif event.state in (State.SCANNING, State.INDEXING, State.FINDING_FACES,
                               State.RE_EMBEDDING):
                desc = (f"Re-embedding with {event.model}" if event.state == State.RE_EMBEDDING
                        else event.state)
                self._bar = tqdm(total=event.total or None, unit=" photos", desc=desc,
                                 file=sys.stderr, dynamic_ncols=True)
        if self._bar is not None:
            self._bar.n = (event.done + event.failed if event.state == State.INDEXING
                           else event.done if event.state in (State.FINDING_FACES, State.RE_EMBEDDING,
                                                              State.DOWNLOADING)
                           else event.found)
            if event.total:
                self._bar.total = event.total
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _open(args, **kw):
    from core.library import Library

    return Library(args.home, model=args.model, device=args.device or "auto",
                   threads=args.threads, **kw)

