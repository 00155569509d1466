"""Crash safety: `snapseek index` and `snapseek watch` are killed with SIGKILL at random moments;
after each kill the reopened library must be whole: catalog and index agree, nothing lost,
nothing twice, no vector of another model, and indexing finishes on restart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from helpers import ROOT, make_photo

from core.library import Library
from core.store import fs_path
from core.types import MEDIA_MASK

# half land right after a write that matters (below), half at random times; make test-long
# runs 100
KILLS = int(os.environ.get("SNAPSEEK_KILLS", "10"))
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


# The CLI in a child that kills itself (SIGKILL) right after the Nth call of one of the writes
# that matter: a batch's vectors committed (its index add not yet done), the index add (not
# yet saved), the index saved. Random kills rarely land in these windows; these always do.
KILL_AFTER = """
import os, runpy, signal, sys
from core.store import Catalog
from core.search.index import VectorIndex
owner, name = {"store": (Catalog, "store_vectors"), "add": (VectorIndex, "add"),
               "save": (VectorIndex, "save")}[os.environ["SNAPSEEK_TEST_KILL_AT"]]
after, calls, real = int(os.environ["SNAPSEEK_TEST_KILL_AFTER"]), [0], getattr(owner, name)
def write_then_die(*a, **k):
    out = real(*a, **k)
    calls[0] += 1
    if calls[0] >= after:
        os.kill(os.getpid(), signal.SIGKILL)
    return out
setattr(owner, name, write_then_die)
sys.argv = ["snapseek", *sys.argv[1:]]
runpy.run_module("core.cli", run_name="__main__")
"""


def start(command: str, home, model, folder, kill_at: tuple[str, int] | None = None
          ) -> subprocess.Popen:
    # the faces-and-text pass off: what is checked is the catalog and the index, and the
    # pass over 300+ photos made every run (and the test) five times longer
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           "SNAPSEEK_NO_FACES": "1", "SNAPSEEK_NO_TEXT": "1"}
    args = ["--home", str(home), "--model", model, command, str(folder)]
    if kill_at:
        env["SNAPSEEK_TEST_KILL_AT"], env["SNAPSEEK_TEST_KILL_AFTER"] = kill_at[0], str(kill_at[1])
        argv = [sys.executable, "-c", KILL_AFTER, *args]
    else:
        argv = [sys.executable, "-m", "core.cli", *args]
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def check_whole(home, model, folder, previously_indexed: set[str]) -> set[str]:
    with Library(home, model=model) as lib:
        model_id = lib.embedder.model_id
        vector_ids = set(lib.catalog.vector_ids(model_id).tolist())
        assert lib.index.ids == vector_ids, "index and catalog disagree"
        assert len(lib.index) == len(vector_ids)
        media = {r[0]: r[1] for r in lib.catalog.db.execute("SELECT id, path FROM media")}
        # every label in the index is a vector of a media row (a label whose row was deleted
        # would be a photo found twice, or a ghost, by the next search)
        ghosts = {label & MEDIA_MASK for label in lib.index.ids} - set(media)
        assert not ghosts, f"index labels without a catalog row: {sorted(ghosts)[:5]}"
        models = {r[0] for r in lib.catalog.db.execute("SELECT DISTINCT model_id FROM embeddings")}
        assert models <= {model_id}, f"vectors of another model: {models}"
        per_media = dict(lib.catalog.db.execute(
            "SELECT media_id, COUNT(*) FROM embeddings GROUP BY media_id").fetchall())
        assert set(per_media) <= set(media), "vectors of a media row that is gone"
        twice = {m: n for m, n in per_media.items() if n != 1}  # photos only here: one each
        assert not twice, f"photos with more than one vector: {twice}"
        paths = [fs_path(media[m]) for m in per_media]
        on_disk = {str(p) for p in folder.rglob("*.jpg")}
        lost = {p for p in previously_indexed if p in on_disk} - set(paths)
        assert not lost, f"indexed photos lost: {sorted(lost)[:3]}"
        return set(paths)


def change_some_photos(folder, rnd: random.Random, step: int) -> None:
    existing = sorted(folder.rglob("*.jpg"))
    for p in rnd.sample(existing, min(8, len(existing))):
        p.unlink()
    for p in rnd.sample(sorted(folder.rglob("*.jpg")), 4):
        p.rename(p.with_name(f"renamed-{step}-{p.name}"))
    for i in range(40):
        make_photo(folder / f"s{step % 4}" / f"new-{step}-{i}.jpg", rnd.choice(COLOURS),
                   size=(480, 360), seed=step * 1000 + i)


@pytest.mark.parametrize("kills", [
    pytest.param(KILLS, id=f"{KILLS}-kills", marks=pytest.mark.timeout(1200)),
    pytest.param(100, id="100-kills", marks=[pytest.mark.slow, pytest.mark.timeout(3600)]),
])
def test_random_kills_never_lose_or_duplicate(tmp_path, random_model, kills):
    rnd = random.Random(20261124 + kills)
    folder = tmp_path / "Pictures"
    for i in range(300):
        make_photo(folder / f"s{i % 4}" / f"p{i:03d}.jpg", COLOURS[i % 6], size=(480, 360),
                   seed=i)
    home = tmp_path / "home"
    indexed: set[str] = set()
    for step in range(kills):
        command = "watch" if step % 3 == 2 else "index"
        if step % 2:  # right after a write that matters
            proc = start(command, home, random_model, folder,
                         # each write in turn, so that even 10 kills land after all three
                         kill_at=(["store", "add", "save"][step // 2 % 3], rnd.randint(1, 6)))
            try:
                _, err = proc.communicate(timeout=30 if command == "watch" else 120)
            except subprocess.TimeoutExpired:  # watch, or fewer writes than N: kill it anyway
                proc.send_signal(signal.SIGKILL)
                _, err = proc.communicate(timeout=30)
            assert proc.returncode in (0, -signal.SIGKILL), err.decode(errors="replace")
        else:
            proc = start(command, home, random_model, folder)
            # the interpreter and torch start in ~3-5 s; the work follows: kill anywhere
            time.sleep(rnd.uniform(2.5, 8.0))
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode(errors="replace")
        indexed = check_whole(home, random_model, folder, indexed)
        if step % 4 == 3:
            change_some_photos(folder, rnd, step)
    # restarting finishes the work
    proc = start("index", home, random_model, folder)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode(errors="replace")
    indexed = check_whole(home, random_model, folder, indexed)
    assert indexed == {str(p) for p in folder.rglob("*.jpg")}


def test_disk_full_fails_the_batch_cleanly_and_pauses(tmp_path, random_model, monkeypatch):
    import errno

    from core.folders import pipeline
    from core.types import Notice, Progress

    folder = tmp_path / "Pictures"
    for i in range(40):
        make_photo(folder / f"p{i:02d}.jpg", COLOURS[i % 6], seed=i)
    lib = Library(tmp_path / "home", model=random_model)
    lib.add_folder(folder)
    lib.update()
    before = set(lib.catalog.vector_ids(lib.embedder.model_id).tolist())
    for i in range(40, 80):
        make_photo(folder / f"p{i:02d}.jpg", COLOURS[i % 6], seed=i)
    real_save = pipeline.save_thumbnail
    calls = []

    def full_disk(image, dest, *a, **k):
        calls.append(dest)
        if len(calls) > 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(image, dest, *a, **k)

    monkeypatch.setattr(pipeline, "save_thumbnail", full_disk)
    notices, states = [], []
    lib.subscribe(lambda e: isinstance(e, Notice) and notices.append(e))
    lib.subscribe(lambda e: isinstance(e, Progress) and states.append(e.state))
    lib.start_watching(settle=0.2)
    deadline = time.monotonic() + 30
    while not any("No space left" in n.text for n in notices) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(n.level == "error" and "No space left" in n.text for n in notices)
    assert lib.paused
    # the app's Pause button learns it from this event (it then reads "Resume")
    deadline = time.monotonic() + 5
    while "paused" not in states and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states[-1] == "paused"
    after = set(lib.catalog.vector_ids(lib.embedder.model_id).tolist())
    assert before <= after  # nothing already indexed was lost
    lib.close()
    with Library(tmp_path / "home", model=random_model) as again:
        assert again.index.ids == set(again.catalog.vector_ids(again.embedder.model_id).tolist())


def test_index_and_search_make_no_network_connection(tmp_path, photo_dir, random_model):
    """The autouse guard in conftest fails any outbound connection; run the whole flow under it."""
    from core.types import Query

    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        assert lib.search(Query.text("red", k=3))


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs (room for a WAL between checkpoints and two index files): SQLite and the
    index file run out of space for real. Mounting needs root."""
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'not root'}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk, leave: int) -> None:
    """Take all the space of the disk but `leave` bytes."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def test_disk_full_under_sqlite_and_the_index_loses_nothing_and_resumes(
        tmp_path, small_disk, random_model):
    from core.types import SnapseekError

    folder = tmp_path / "Pictures"
    for i in range(20):
        make_photo(folder / f"p{i:03d}.jpg", COLOURS[i % 6], size=(240, 180), seed=i)
    home, thumbs = small_disk / "home", tmp_path / "thumbs"  # the catalog and index on it
    with Library(home, model=random_model, thumbs_dir=thumbs) as lib:
        lib.add_folder(folder)
        lib.update()
        model_id = lib.embedder.model_id
        before = set(lib.catalog.vector_ids(model_id).tolist())
    assert len(before) == 20
    for i in range(20, 400):
        make_photo(folder / f"p{i:03d}.jpg", COLOURS[i % 6], size=(240, 180), seed=i)
    fill(small_disk, leave=16 * 1024)
    with pytest.raises(SnapseekError) as failure:
        with Library(home, model=random_model, thumbs_dir=thumbs) as lib:
            lib.update()
    message = str(failure.value)
    assert "\n" not in message and ("full" in message or "space" in message.lower()), message
    (small_disk / "filler").unlink()  # space comes back
    with Library(home, model=random_model, thumbs_dir=thumbs) as lib:
        assert before <= set(lib.catalog.vector_ids(model_id).tolist())  # nothing lost
        lib.update()
        ids = set(lib.catalog.vector_ids(model_id).tolist())
        assert len(ids) == 400 and lib.index.ids == ids
