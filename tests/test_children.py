"""Child processes end with their parent, however the parent ends: the decoder of huge
pictures, the faces finder and multiprocessing's resource tracker are never left behind."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.children import WarmChild

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="reads the processes from /proc")


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command's name: state, parent, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _children_of(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(_stat(int(entry.name))[1]) == pid:
                found[int(entry.name)] = _cmdline(int(entry.name))
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return found


def _alive(pid: int, cmdline: str) -> bool:
    """Whether that process still runs (a zombie waiting to be reaped has ended)."""
    try:
        return _stat(pid)[0] != "Z" and _cmdline(pid) == cmdline
    except (OSError, IndexError):
        return False


def _left_after(pids: dict[int, str], seconds: float = 20) -> dict[int, str]:
    """Those of the processes (pids with their command lines) still running after up to
    `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        left = {pid: cmd for pid, cmd in pids.items() if _alive(pid, cmd)}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def _end_all(parent: subprocess.Popen, children: dict[int, str]) -> None:
    """However the test went: the parent and whatever it left, ended, and its pipes closed."""
    parent.kill()
    parent.wait()
    for pid in _left_after(children, seconds=0):
        os.kill(pid, signal.SIGKILL)
    parent.stdout.close()
    parent.stderr.close()


DECODE_FOREVER = """
import sys
from core.media.imaging import open_image

if __name__ == "__main__":
    while True:
        open_image(sys.argv[1], 224)
        print("decoded", flush=True)
"""


@linux_only
@pytest.mark.parametrize("when, how", [("mid-picture", "SIGKILL"),
                                       ("mid-picture", "SIGTERM"),
                                       ("as the child starts", "SIGKILL")])
def test_no_child_is_left_when_the_parent_is_killed(tmp_path, when, how):
    """A program decoding huge pictures is killed: its decoding child and multiprocessing's
    resource tracker go with it (both stayed, idle, as orphans, before)."""
    picture = tmp_path / "big.png"
    Image.new("RGB", (2_000, 1_500), (40, 90, 200)).save(picture)
    script = tmp_path / "decode_forever.py"
    script.write_text(DECODE_FOREVER)
    env = dict(os.environ, SNAPSEEK_BIG_PIXELS="100000",  # this picture goes to the child
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    parent = subprocess.Popen([sys.executable, str(script), str(picture)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: dict[int, str] = {}
    try:
        if when == "mid-picture":  # the child is warm and decoding the next one
            assert parent.stdout.readline() == "decoded\n", parent.stderr.read()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            children = _children_of(parent.pid)
            if any("spawn_main" in cmd for cmd in children.values()):
                break
            assert parent.poll() is None, parent.stderr.read()
            time.sleep(0.005)
        if when == "mid-picture":
            assert any("resource_tracker" in cmd for cmd in children.values()), children
        assert any("spawn_main" in cmd for cmd in children.values()), children
        os.kill(parent.pid, getattr(signal, how))
        parent.wait(30)
        left = _left_after(children)
        assert left == {}, f"left behind: {left}"
    finally:
        _end_all(parent, children)


def _pid_of_child() -> int:
    return os.getpid()


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def test_a_child_started_by_a_thread_outlives_that_thread():
    """The kernel counts the thread that started a child as its parent: a child started from
    a worker thread that ends is still there for the next call."""
    child = WarmChild()
    try:
        got = []
        starter = threading.Thread(target=lambda: got.append(child.submit(_pid_of_child)))
        starter.start()
        starter.join()
        first = got[0][0].result(60)
        time.sleep(0.5)  # a signal at the thread's end would have landed by now
        second, _ = child.submit(_pid_of_child)
        assert second.result(60) == first
    finally:
        child.stop()


def test_a_stuck_call_is_ended_and_the_next_gets_a_fresh_child():
    from concurrent.futures import CancelledError
    from concurrent.futures.process import BrokenProcessPool

    child = WarmChild()
    try:
        first, _ = child.submit(_pid_of_child)
        pid = first.result(60)
        cmdline = _cmdline(pid) if Path("/proc").exists() else ""
        stuck, end = child.submit(_sleep, 3600)
        end()
        with pytest.raises((BrokenProcessPool, CancelledError)):  # (begun, or not yet)
            stuck.result(30)
        if Path("/proc").exists():
            assert _left_after({pid: cmdline}) == {}
        again, _ = child.submit(_pid_of_child)
        assert again.result(60) != pid
    finally:
        child.stop()


def test_a_child_let_go_by_another_thread_meanwhile_is_replaced():
    """Another thread shuts the child down just as this one hands it a call: the call goes to
    a fresh child, it does not fail."""
    child = WarmChild()
    try:
        pool, _ = child._current()
        pool.shutdown()
        future, _ = child.submit(_pid_of_child)
        assert future.result(60) > 0
    finally:
        child.stop()


def _times_out() -> None:  # a call whose own work raises TimeoutError (a socket's, say)
    raise TimeoutError("the share did not answer")


def test_a_call_that_raises_timeout_itself_is_not_taken_for_a_stuck_child():
    """`later` ends a child that has not answered in time; a call that answered by raising
    TimeoutError of its own answered: its error is said as it is and the child stays."""
    child = WarmChild()
    try:
        pid = child.later(60, _pid_of_child)()
        with pytest.raises(TimeoutError, match="the share did not answer"):
            child.later(60, _times_out)()
        assert child.later(60, _pid_of_child)() == pid
    finally:
        child.stop()


def test_a_call_queued_behind_a_stuck_one_is_given_to_the_next_child():
    """Two pictures handed over at once, the first stuck: it is given up after its time
    limit and its child ended, and the second, already handed to that child, goes to the next
    child instead of failing with it."""
    child = WarmChild()
    try:
        stuck = child.later(3, _sleep, 3600)
        behind = child.later(60, _pid_of_child)
        first_pid = child.pids
        with pytest.raises(TimeoutError, match="more than 3 s"):
            stuck()
        assert behind() not in first_pid
    finally:
        child.stop()


# -- the faces child -----------------------------------------------------------------------
def hang(image, frame, crops):  # a picture dlib never finishes (run in the faces child)
    Path(tempfile.gettempdir(), f"snapseek-hung-{os.getppid()}").touch()  # begun
    time.sleep(3600)


def test_a_picture_the_faces_child_never_finishes_fails_alone(tmp_path, monkeypatch):
    """A child stuck on one picture is ended after the picture's time limit: that picture
    fails with the reason, the next one gets a fresh child (the pass, and the app's exit, waited
    for ever before; on Python 3.10 the time limit's error was not caught at all)."""
    from skimage import data

    from core.folders.enrich import MediaRef
    from core.people import faceworker

    picture = np.asarray(data.astronaut())
    apart = faceworker.FaceEnricherApart(tmp_path)
    apart.load()
    try:
        monkeypatch.setattr(faceworker, "PICTURE_TIMEOUT_S", 3.0)
        monkeypatch.setattr(faceworker, "_child_find", hang)
        stuck = faceworker._child.pids
        assert stuck
        running = {pid: _cmdline(pid) for pid in stuck} if Path("/proc").exists() else {}
        begun = Path(tempfile.gettempdir(), f"snapseek-hung-{os.getpid()}")
        begun.unlink(missing_ok=True)
        wait = apart.start(picture, MediaRef(1, "stuck.png", "photo"))
        deadline = time.monotonic() + 120
        while not begun.exists() and time.monotonic() < deadline:  # the child is on it
            time.sleep(0.05)
        begun.unlink()
        faceworker._child.stop(wait=False)  # another pass let the child go meanwhile
        faces_found, note = wait()
        assert faces_found == [] and "more than 3 s" in note
        assert _left_after(running) == {}  # ended, not left behind
        monkeypatch.undo()
        again, _ = apart.start(picture, MediaRef(2, "astronaut.png", "photo"))()
        assert again and faceworker._child.pids != stuck
    finally:
        apart.close()


# -- the forked index writer ---------------------------------------------------------------
WRITE_THE_INDEX = """
import os, sys, time
import hnswlib
import numpy as np
from core.library import Library
from core.search import index

index.FORK_MIN_BYTES = 0  # this small index is written by a forked child too
parent, write = os.getpid(), hnswlib.Index.save_index


def slow(self, path):  # the child writes, then takes its time, as a large index does
    write(self, path)
    if os.getpid() != parent:
        print(os.getpid(), flush=True)
        time.sleep(120)


hnswlib.Index.save_index = slow
lib = Library(sys.argv[1])
with lib.writing():
    vectors = index.VectorIndex(lib.home / "index-test.hnsw", "test", 8)
    vectors.add(np.arange(1, 101), np.random.default_rng(0).random((100, 8), np.float32))
    vectors.save(lib.catalog)
"""


@linux_only
def test_the_index_writer_ends_with_its_parent(tmp_path):
    """A program killed while its forked child writes the index file: the child goes with it
    (it finished its file before, holding the library's writer lock meanwhile), and the
    half-done temporary file goes when the library is next opened."""
    from core.library import Library

    home = tmp_path / "home"
    script = tmp_path / "write_the_index.py"
    script.write_text(WRITE_THE_INDEX)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    parent = subprocess.Popen([sys.executable, str(script), str(home)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writer: dict[int, str] = {}
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 120)
        if not ready:  # never reached its fork: what it said instead
            parent.kill()
            pytest.fail(f"the writer never started: {parent.communicate()[1][-2000:]}")
        pid = int(parent.stdout.readline() or parent.stderr.read())
        writer = {pid: _cmdline(pid)}
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        assert _left_after(writer, seconds=10) == {}
    finally:
        _end_all(parent, writer)
    left = list(home.glob("index-test.hnsw.*.tmp"))
    assert left  # the write never finished
    deadline = time.monotonic() + 30
    while True:  # (a dying writer may hold the home's lock a moment longer: then the next open)
        for path in home.glob("*.tmp"):
            os.utime(path, (time.time() - 3600, time.time() - 3600))  # killed long ago
        Library(home).close()
        if not list(home.glob("*.tmp")) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert list(home.glob("*.tmp")) == []
