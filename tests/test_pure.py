"""The small pure pieces, fast: the change queue, name splitting, query parsing, date phrases
and the filter SQL. None of them may need torch (or the model), so these run in a blink."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time

import pytest
from helpers import ROOT

from core.folders.watcher import ChangeQueue
from core.query.dates import find_date
from core.query.filters import Filters
from core.search.scoring import parse_query, parse_terms, split_names
from core.store import Catalog
from core.types import AllOf, Alone, AnyOf, Not, Person

D = dt.date


def test_the_pure_modules_load_without_torch():
    # in a fresh interpreter: this test process may have torch from other tests
    code = ("import sys, core.query.dates, core.search.scoring, core.store, core.folders.watcher, "
            "core.folders.scanner; "
            "print(sorted(m for m in ('torch', 'open_clip', 'hnswlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    assert out.strip() == "[]"


# -- the change queue ---------------------------------------------------------
def test_change_queue_holds_a_path_until_it_settles_and_releases_it_once():
    q = ChangeQueue(settle=60)
    q.add("/a")
    q.add("/a")
    assert q.take_ready(0) == []
    assert len(q) == 1
    q.add("/b", now=True)
    assert q.take_ready(0) == ["/b"]
    assert len(q) == 2  # /b in flight until done(), /a waiting
    q.done()
    assert len(q) == 1


def test_change_queue_releases_both_ends_of_a_move_together():
    # the two ends of a rename must reach one scan, or the rename is a deletion plus a new
    # photo (a new id, embedded again); release times differ by the microseconds between
    # two add() calls unless they are added as one
    q = ChangeQueue(settle=0.0)
    q.add_together(["/old", "/new"])
    assert sorted(q.take_ready(0)) == ["/new", "/old"]


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_change_queue_releases_a_chain_of_moves_in_one_take():
    # green.jpg moved into trip/, then trip/ renamed journey/: scanned apart, the first move
    # finds neither end on disk (a deletion) and the second a new photo (a new id, embedded
    # again). Every event restarts the quiet time of all that is waiting.
    clock = FakeClock()
    q = ChangeQueue(settle=1.0, clock=clock)
    q.add_together(["/p/green.jpg", "/p/trip/green.jpg"])
    clock.now += 0.6
    q.add_together(["/p/trip", "/p/journey"])
    clock.now += 0.6  # the first move has been quiet for 1.2 s, the second for 0.6 s
    assert q.take_ready(0) == []
    clock.now += 0.5
    assert sorted(q.take_ready(0)) == ["/p/green.jpg", "/p/journey", "/p/trip",
                                       "/p/trip/green.jpg"]


def test_change_queue_releases_a_file_closed_after_writing_at_once():
    # a new photo: created (waits), written, closed (complete: goes now, whatever else waits)
    clock = FakeClock()
    q = ChangeQueue(settle=1.0, clock=clock)
    q.add("/p/other.jpg")
    q.add("/p/new.jpg")
    clock.now += 0.1
    q.add("/p/new.jpg", now=True)
    assert q.take_ready(0) == ["/p/new.jpg"]
    q.done()
    assert len(q) == 1  # the other still waits for quiet
    clock.now += 1.0
    assert q.take_ready(0) == ["/p/other.jpg"]


def test_change_queue_moves_that_never_stop_still_go_after_the_longest_wait():
    clock = FakeClock()
    q = ChangeQueue(settle=1.0, clock=clock)
    q.add_together(["/first", "/first-renamed"])
    released = []
    for i in range(200):  # a move every 0.5 s for 100 s, and files closed meanwhile
        clock.now += 0.5
        q.add_together([f"/a{i}", f"/b{i}"])
        q.add(f"/closed{i}", now=True)
        released += q.take_ready(0)
        q.done()
    assert {"/first", "/first-renamed"} <= set(released)
    moved = [p for p in released if p.startswith("/a")]
    assert len(moved) > 150  # each waits at most the longest wait, not for the moves to end
    assert all(f"/b{p[2:]}" in released for p in moved)  # each with its other end


def test_change_queue_keeps_a_move_whole_whatever_else_its_ends_saw():
    clock = FakeClock()
    q = ChangeQueue(settle=1.0, clock=clock)
    q.add("/p/a.jpg", now=True)  # written and closed, then renamed before it was taken
    q.add_together(["/p/a.jpg", "/p/b.jpg"])
    q.add_together(["/p/c.jpg", "/p/d.jpg"])
    q.add("/p/d.jpg", now=True)  # renamed, then written again under its new name
    assert q.take_ready(0) == []
    assert len(q) == 4
    clock.now += 1.0
    assert sorted(q.take_ready(0)) == ["/p/a.jpg", "/p/b.jpg", "/p/c.jpg", "/p/d.jpg"]


def test_change_queue_a_file_that_never_stops_changing_holds_up_nothing_else():
    clock = FakeClock()
    q = ChangeQueue(settle=1.0, clock=clock)
    q.add("/p/catalog.lrcat")
    q.add("/p/new.jpg")
    for _ in range(3):
        clock.now += 0.5
        q.add("/p/catalog.lrcat")
    assert q.take_ready(0) == ["/p/new.jpg"]


def test_change_queue_wakes_a_waiting_taker():
    q = ChangeQueue(settle=0.0)
    got = []
    t = threading.Thread(target=lambda: got.extend(q.take_ready(30)))
    t.start()
    q.add("/x", now=True)
    t.join(30)
    assert got == ["/x"]


# -- names and queries ----------------------------------------------------------
def test_split_names_takes_out_exact_filters_and_keeps_words_for_names():
    rest, exact, words = split_names('beach "Summer 2019" name:IMG_1 in Lisbon 2019 at')
    assert rest == "beach in Lisbon 2019 at"
    assert exact == [("path", "summer 2019"), ("name", "img_1")]
    assert words == ["beach", "lisbon", "2019"]


def test_parse_terms_weights_and_negatives():
    assert parse_terms("2:dog + beach - people") == [("dog", 2.0), ("beach", 1.0),
                                                     ("people", -1.0)]


def test_parse_query_turns_a_date_phrase_into_bounds_and_leaves_the_rest():
    query, when = parse_query("beach last summer", today=D(2024, 10, 2))
    assert [t for t, _ in query.texts] == ["beach"]
    assert (when.after, when.before) == (D(2024, 6, 1), D(2024, 9, 1))
    assert query.after == dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc).timestamp()


A, T, B = Person("Anna"), Person("Tom"), Person("Ben")


@pytest.mark.parametrize("text, rest, who", [
    ("Anna and Tom at the beach", "at the beach", AllOf((A, T))),
    ("Anna, Tom & Ben", "", AllOf((A, T, B))),
    ("Anna or Tom in the snow", "in the snow", AnyOf((A, T))),
    ("Anna without Tom", "", AllOf((A, Not(T)))),
    ("anna but not tom or ben", "", AllOf((A, Not(AnyOf((T, B)))))),
    ("only Anna", "", Alone(("Anna",))),
    ("just Anna and Tom at home", "at home", Alone(("Anna", "Tom"))),
    ("Anna alone on the beach", "on the beach", Alone(("Anna",))),
    ("Anna at the beach with Tom", "at the beach", AllOf((A, T))),
    ("Anna Maria and not Anna", "", AllOf((Person("Anna Maria"), Not(A)))),
    ("Annabel or Tommy", "Annabel or Tommy", None),
    ("Anna or Tom without Ben", "", AllOf((AnyOf((A, T)), Not(B)))),
    ("Anna or Tom and not Ben", "", AnyOf((A, AllOf((T, Not(B)))))),
])
def test_people_are_read_with_how_they_are_asked_for(text, rest, who):
    from core.query.who import read_people

    assert read_people(text, ["Anna", "Tom", "Ben", "Anna Maria"]) == (rest, who)


# -- date phrases ---------------------------------------------------------------
@pytest.mark.parametrize("text, today, after, before", [
    # "last winter" in January: the winter that ended (Dec 2024 - Feb 2025), not the one in
    # progress (Dec 2025 - Feb 2026)
    ("last winter", D(2026, 1, 15), D(2024, 12, 1), D(2025, 3, 1)),
    ("last winter", D(2026, 2, 28), D(2024, 12, 1), D(2025, 3, 1)),
    ("last winter", D(2026, 3, 1), D(2025, 12, 1), D(2026, 3, 1)),
    ("last winter", D(2026, 12, 20), D(2025, 12, 1), D(2026, 3, 1)),
    ("this winter", D(2026, 1, 15), D(2025, 12, 1), D(2026, 3, 1)),
    ("last summer", D(2026, 7, 1), D(2025, 6, 1), D(2025, 9, 1)),
    ("last summer", D(2026, 9, 1), D(2026, 6, 1), D(2026, 9, 1)),
    ("winter 2021", D(2026, 1, 1), D(2021, 12, 1), D(2022, 3, 1)),
    ("last month", D(2026, 1, 15), D(2025, 12, 1), D(2026, 1, 1)),
    ("yesterday", D(2026, 3, 1), D(2026, 2, 28), D(2026, 3, 1)),
    ("photos from 2019", D(2026, 1, 1), D(2019, 1, 1), D(2020, 1, 1)),
])
def test_date_phrases(text, today, after, before):
    _, when = find_date(text, today)
    assert (when.after, when.before) == (after, before)


def test_a_bare_year_is_not_a_date_and_a_dismissed_phrase_stays():
    assert find_date("Lisbon 2019", D(2026, 1, 1)) == ("Lisbon 2019", None)
    assert find_date("beach last summer", D(2026, 1, 1), frozenset({"last summer"}))[1] is None


# -- the filter SQL -------------------------------------------------------------
@pytest.fixture
def catalog(tmp_path):
    cat = Catalog(tmp_path / "catalog.db")
    yield cat
    cat.close()


def _ids(catalog, filters):
    where, params = filters.where()
    return {r[0] for r in catalog.db.execute(f"SELECT id FROM media WHERE {where}", params)}


def test_filter_sql_folders_names_and_cameras(catalog):
    root = "/photos"
    bad = os.fsdecode(b"/photos/caf\xe9/x.jpg")  # a Latin-1 folder name: not UTF-8
    paths = ["/photos/a/ÉTÉ.jpg", "/photos/ab/x.jpg", "/photos/a%b/y.jpg", bad, "/other/z.jpg"]
    with catalog.write() as w:
        folder = catalog.add_folder(root)
        ids = {p: catalog.insert_media(w, folder, p, 1, 1, f"h{i}") for i, p in enumerate(paths)}
        w.execute("UPDATE media SET status='ok'")
        w.execute("UPDATE media SET camera='iPhone 12' WHERE id=?", [ids[paths[0]]])
        w.execute("UPDATE media SET camera='iPhone 12 Pro' WHERE id=?", [ids[paths[1]]])
    assert _ids(catalog, Filters(folder="/photos/a")) == {ids[paths[0]]}  # not /photos/ab
    assert _ids(catalog, Filters(folder=os.fsdecode(b"/photos/caf\xe9"))) == {ids[bad]}
    assert _ids(catalog, Filters(names=(("name", "été"),))) == {ids[paths[0]]}  # Unicode case
    assert _ids(catalog, Filters(names=(("path", "a%b"),))) == {ids[paths[2]]}  # % is a %
    assert _ids(catalog, Filters(names=(("path", "a_b"),))) == set()  # _ is no wildcard
    assert _ids(catalog, Filters(camera="iphone 12")) == {ids[paths[0]]}  # exact model
    assert _ids(catalog, Filters(after=0.0)) == set()  # no date: not in a date range


def test_the_whole_vector_table_reads_in_chunks_into_the_asked_type(tmp_path, monkeypatch):
    """Read across several chunks, newer than a seq, straight into float16 (the stand-in),
    and a row written between the count and the read is not lost."""
    import numpy as np

    catalog = Catalog(tmp_path / "catalog.db")
    folder = catalog.add_folder(str(tmp_path))
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((20_000, 8)).astype(np.float32)
    seqs = []
    for start in range(0, len(vectors), 5_000):
        with catalog.write() as w:
            ids = [catalog.insert_media(w, folder, str(tmp_path / f"{start + i}.jpg"), 1, 0,
                                        f"h{start + i}") for i in range(5_000)]
        seq = catalog.store_vectors("m", [(m, v, {}) for m, v in
                                          zip(ids, vectors[start:start + 5_000], strict=True)], [])
        seqs.append(seq[0])
    labels, matrix, top = catalog.vectors("m")
    assert matrix.dtype == np.float32 and len(labels) == 20_000 and top == seqs[-1]
    assert np.array_equal(matrix, vectors[np.argsort(labels)])
    half_labels, half, _ = catalog.vectors("m", dtype=np.float16)
    assert half.dtype == np.float16 and np.array_equal(half_labels, labels)
    assert np.allclose(half, matrix, atol=2e-3)
    newer, newer_matrix, _ = catalog.vectors("m", since_seq=seqs[1])
    assert len(newer) == 10_000 and np.array_equal(newer_matrix, matrix[10_000:])

    real_db = Catalog.db
    calls = []

    class Db:  # a batch lands between the count and the read
        def __init__(self, db):
            self._db = db

        def execute(self, sql, params=()):
            out = self._db.execute(sql, params)
            if sql.startswith("SELECT COUNT(*)") and not calls:
                calls.append(1)
                with catalog.write() as w:
                    late = catalog.insert_media(w, folder, str(tmp_path / "late.jpg"), 1, 0, "l")
                catalog.store_vectors("m", [(late, np.ones(8, np.float32), {})], [])
            return out

        def __getattr__(self, name):
            return getattr(self._db, name)

    monkeypatch.setattr(Catalog, "db", property(lambda self: Db(real_db.fget(self))))
    more, more_matrix, _ = catalog.vectors("m")
    assert calls and len(more) == 20_001
    assert np.array_equal(more_matrix[-1], np.ones(8, np.float32))


def test_the_search_breadth_grows_with_the_index():
    from core.search.index import HNSW_EF_SEARCH, ef_for

    assert ef_for(0) == ef_for(300_000) == HNSW_EF_SEARCH
    assert ef_for(1_000_000) > 3 * HNSW_EF_SEARCH  # recall@20 held near 0.99 at 1M
    assert ef_for(10_000_000) == 512  # a query stays in the milliseconds


def test_the_read_write_lock_lets_readers_share_and_a_writer_stand_alone():
    import threading

    from core.search.index import RWLock

    lock, inside = RWLock(), []
    with lock.read(), lock.read():  # two readers at once (re-entered here in one thread)
        got = threading.Event()

        def writer():
            with lock.write():
                inside.append("w")
                got.set()

        t = threading.Thread(target=writer)
        t.start()
        assert not got.wait(0.2)  # the writer waits for the readers
    assert got.wait(5)
    t.join()
    assert inside == ["w"]


def test_a_waiting_reader_goes_before_a_writer_that_comes_back_at_once():
    """A rebuild adds batch after batch, each under the write lock: a query waiting meanwhile
    must get in between two batches, not wait for the whole rebuild."""
    import threading

    from core.search.index import RWLock

    for _ in range(5):
        lock, order = RWLock(), []
        reader_waits = threading.Event()

        def reader(lock=lock, order=order, reader_waits=reader_waits):
            reader_waits.set()
            with lock.read():
                order.append("read")

        with lock.write():
            t = threading.Thread(target=reader)
            t.start()
            reader_waits.wait(5)
            deadline = time.monotonic() + 5
            while lock._readers_waiting == 0 and time.monotonic() < deadline:
                time.sleep(0.001)
        with lock.write():  # the writer's next batch
            order.append("write")
        t.join(5)
        assert order == ["read", "write"]
