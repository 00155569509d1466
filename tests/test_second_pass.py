"""The second pass (faces and text in photos) starts its models only when a photo is left for
it to look at: after a change that leaves none (a photo deleted, a pass already done), no faces
child is started and no text network is compiled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.library import Library


def test_the_second_pass_starts_nothing_when_no_photo_is_left(tmp_path, photo_dir, random_model,
                                                              monkeypatch):
    from core.people import faceworker
    from core.people.faceworker import FaceEnricherApart
    from core.text import textworker
    from core.text.textworker import TextEnricherApart

    started = []
    for enricher, how in ((FaceEnricherApart, "load"), (TextEnricherApart, "starting")):
        real = getattr(enricher, how)
        monkeypatch.setattr(enricher, how, lambda self, real=real: (
            started.append(type(self).__name__), real(self))[1])
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        done, failed, _ = lib.enrich()
        assert done + failed == 8 and set(started) == {"FaceEnricherApart", "TextEnricherApart"}
        started.clear()
        next(photo_dir.glob("*.jpg")).unlink()  # a change that leaves nothing to look at
        lib.update()
        assert lib.enrich() == (0, 0, False)
        assert started == []  # no model was started for it
        assert faceworker._child.pids == []  # and no faces child is running
        assert textworker.running() == []  # nor a text reader


def test_no_child_is_left_when_the_other_cannot_start(tmp_path, photo_dir, random_model,
                                                     monkeypatch):
    """The text reader's child starts while the faces child does; where finding faces cannot
    start (its models missing), the pass says so in one line and leaves no child behind."""
    from core.people.faces import FaceModelsMissing
    from core.people.faceworker import FaceEnricherApart
    from core.text import textworker
    from core.types import SnapseekError

    def missing(self):
        raise FaceModelsMissing("the face models are not installed")

    monkeypatch.setattr(FaceEnricherApart, "load", missing)
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        with pytest.raises(SnapseekError, match="Faces cannot be found"):
            lib.enrich()
        assert textworker.running() == []


READ_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
import os

import pytest

from core.library import Library
home, folder, model = map(Path, sys.argv[1:4])
with Library(home, model=f"local-dir:{model}") as lib:
    lib.add_folder(folder)
    lib.update()
    done, failed, _ = lib.enrich()
    text = lib.photo_text(lib.media_id_of(str(folder / "sign.jpg")))
    held = sorted(m for m in ("cv2", "rapidocr_onnxruntime", "shapely", "pyclipper")
                  if m in sys.modules)
    print(json.dumps({"done": done, "text": text, "held": held}))
"""


def test_text_is_read_in_a_child_that_ends_with_the_pass(tmp_path, random_model):
    """Reading text needs OpenCV, RapidOCR's code and its networks: about 100 MB that stayed in
    the app's process after its first second pass (702 against 536 MB idle). They are a
    child's, which ends with the pass: the library's own process reads the words it stores
    and has imported none of them."""
    import json
    import subprocess
    import sys

    from test_ocr import sign

    folder = tmp_path / "Pictures"
    folder.mkdir()
    sign(["OPEN DAILY", "FRESH BREAD"]).save(folder / "sign.jpg", quality=92)
    proc = subprocess.run(
        [sys.executable, "-c", READ_IN_A_FRESH_PROCESS, str(tmp_path / "home"), str(folder),
         random_model.removeprefix("local-dir:")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "SNAPSEEK_NO_FACES": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["done"] == 1
    assert {"OPENDAILY", "FRESHBREAD"} <= {t.replace(" ", "").upper() for t in got["text"]}
    assert got["held"] == []


def test_the_next_photo_is_handed_over_before_this_ones_answers_are_awaited(
        tmp_path, photo_dir, random_model):
    """Enrichers that work elsewhere (faces and text, each in a child) are handed the next photo
    while the pass still waits for this one's answers, so that one that is done early does not
    sit idle until the other is; every photo's answers are still stored, each once."""
    from core.folders.enrich import EnrichPass

    events = []

    class Apart:
        version = 1

        def __init__(self, name):
            self.name = name

        def start(self, image, media):
            events.append(("start", self.name, media.media_id))
            return lambda: events.append(("answer", self.name, media.media_id)) or ([], None)

    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        work = EnrichPass(lib.catalog, lib.thumbs, [Apart("a"), Apart("b")])
        assert work.run() == (8, 0, False)
        assert work.pending() == 0 and work.run() == (0, 0, False)
    ids = list(dict.fromkeys(m for _, _, m in events))
    assert len(ids) == 8
    for name in "ab":
        answers = [m for what, n, m in events if what == "answer" and n == name]
        assert answers == ids  # each photo answered once, in order
        for first, second in zip(ids, ids[1:], strict=False):
            if events.index(("start", name, second)) > events.index(("answer", name, first)):
                # only where a batch ends may the pass wait for all before going on
                assert ids.index(second) % work.batch_size == 0, events


def test_the_childrens_networks_are_not_bound_to_one_core(tmp_path, photo_dir, random_model):
    """OpenVINO binds a network's thread to a core by default, and each child chose the
    first: faces and text took turns on one core while the other sat idle (the pass ran at
    2.6-3.0 photos/s of benchmarks/enrichset.py's, 3.7 unbound). Once the pass has stored a
    photo (starting up, a thread may be bound for a moment), every thread of both children
    may run on every core the app may."""
    import threading

    from core.people import faceworker
    from core.text import textworker

    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        pytest.skip("one core: nothing to be bound to")
    narrower: list[str] = []
    stored = threading.Event()
    stop = threading.Event()

    def watch():  # the children's threads, read from outside while the pass runs
        while not stop.wait(0.01):
            started = stored.is_set()
            for pid, who in ([(p, "faces") for p in faceworker._child.pids]
                             + [(p, "text") for p in textworker.running()]):
                for task in Path(f"/proc/{pid}/task").glob("*"):
                    try:
                        cpus = os.sched_getaffinity(int(task.name))
                    except OSError:
                        continue
                    if cpus != allowed and started:
                        narrower.append(f"{who} {pid}/{task.name}: {sorted(cpus)}")

    watcher = threading.Thread(target=watch)
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        watcher.start()
        try:
            assert lib.enrich(on_progress=lambda p: p.done and stored.set())[:2] == (8, 0)
        finally:
            stop.set()
            watcher.join()
    assert not narrower, sorted(set(narrower))
