"""The indexing in flight: the one pipeline running now (the first pass, or a switch's
re-embedding) and whether indexing is paused, for pause, resume and cancel from other
threads."""

from __future__ import annotations

from contextlib import contextmanager

from core.folders.pipeline import IndexingPipeline


class InFlight:
    """Holds the pipeline that runs (running()); a pause asked before it started holds it at
    once. The folders' work and the model's switch both run their pipelines through it."""

    def __init__(self):
        self._pipeline: IndexingPipeline | None = None
        self._paused = False

    @contextmanager
    def running(self, pipeline: IndexingPipeline):
        """The indexing in flight while the block runs."""
        self._pipeline = pipeline
        if self._paused:
            pipeline.pause()
        try:
            yield pipeline
        finally:
            self._pipeline = None

    def pause(self) -> None:
        """Pause indexing (the batch in flight finishes first)."""
        self._paused = True
        pipeline = self._pipeline  # read once: the indexing thread sets it to None when done
        if pipeline is not None:
            pipeline.pause()

    def resume(self) -> None:
        self._paused = False
        pipeline = self._pipeline
        if pipeline is not None:
            pipeline.resume()

    @property
    def paused(self) -> bool:
        return self._paused

    def cancel(self) -> None:
        """Stop the indexing in progress after its current batch."""
        pipeline = self._pipeline
        if pipeline is not None:
            pipeline.cancel()
