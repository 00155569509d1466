"""State that threads share: the recent text vectors, a video's moments in the index, the hub's
offline switch. Two searches run at once in the app, beside indexing and a model switch."""

from __future__ import annotations

import itertools
import sys
import threading
import time

import numpy as np
import pytest

from core.search.index import VectorIndex
from core.types import MEDIA_MASK


@pytest.fixture
def busy_switching():
    """Threads hand over after every few bytecodes: races show up in a second, not a week."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _hammer(work, threads: int = 8, seconds: float = 1.0) -> list[BaseException]:
    errors: list[BaseException] = []
    stop = time.monotonic() + seconds

    def run(n: int) -> None:
        try:
            while time.monotonic() < stop and not errors:
                work(n)
        except BaseException as exc:  # noqa: BLE001 - any failure is the defect
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


def test_two_searches_at_once_share_the_recent_text_vectors_safely(busy_switching):
    from core.model.exported import LightEmbedder

    dim = 4

    def tower(cached=True):
        return lambda texts: np.ones((len(texts), dim), np.float32)

    manifest = {"spec": "s", "model_id": "s#f#4", "dim": dim, "image_size": 32,
                "precision": "f32", "weights": None}
    emb = LightEmbedder(manifest, tower, full_loader=lambda: None)
    fresh = itertools.count()

    def search(n: int) -> None:
        # one search types ever new words, pushing the oldest out; the others go round a set of
        # words the cache holds, each asking next for the word it has held longest
        for i in range(200):
            text = f"new {next(fresh)}" if n == 0 else f"again {(i + 17 * n) % 200}"
            assert emb.encode_text([text]).shape == (1, dim)

    assert _hammer(search, threads=4) == []


def test_moment_slack_while_videos_are_indexed(busy_switching):
    dim = 4
    index = VectorIndex("unused.hnsw", "m", dim)
    rng = np.random.default_rng(0)
    # many videos, each with a later moment: the index's map of moments is large
    videos = np.arange(1, 20_001, dtype=np.int64)
    index._track(videos | (1 << 40))
    next_video = [30_000]

    def work(n: int) -> None:
        if n == 0:  # indexing: new videos' moments arrive
            first = next_video[0]
            next_video[0] += 50
            labels = np.arange(first, first + 50, dtype=np.int64) | (1 << 40)
            assert (labels > MEDIA_MASK).all()
            index.add(labels, rng.standard_normal((50, dim)).astype(np.float32))
        else:  # searching
            index.moment_slack(10)

    assert _hammer(work, threads=3) == []


def test_overlapping_model_loads_leave_the_hub_as_they_found_it(monkeypatch):
    from huggingface_hub import constants

    from core.model.sources import hub_offline

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first() -> None:  # the library's load
        with hub_offline():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:  # a model switch's load, begun while the first was inside
        first_in.wait(5)
        with hub_offline():
            second_in.set()
            first_out.wait(5)
            seen["inside"] = constants.HF_HUB_OFFLINE

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["inside"] is True  # still offline for the second while it looks in the cache
    assert constants.HF_HUB_OFFLINE is False  # and online again once both are done


def test_a_query_asked_while_the_same_text_is_encoded_waits_for_that_answer(library):
    """The window warms the text tower up with what is typed as the library opens; the search
    for it, asked meanwhile, takes that answer instead of running the tower again (a second
    run after start reads back the pages the first run let go: 0.2 s here)."""
    emb = library.load_model()
    emb.encode_text(["warm"])  # compiled
    tower, runs = emb._tower, []

    def counted(texts):
        runs.append(list(texts))
        time.sleep(0.3)  # a first run
        return tower(texts)

    emb._tower = counted
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(emb.encode_text(["a dog"])))
               for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert runs == [["a dog"]]
    assert np.array_equal(answers[0], answers[1])
