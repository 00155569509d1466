"""The store's locking: readers never wait for writers, and writers hold the lock only to write."""

import json
import os
import subprocess
import sys
import threading

import numpy as np

from core.store import Catalog


def test_opening_the_catalog_to_read_never_waits_for_a_writer(tmp_path):
    path = tmp_path / "catalog.db"
    Catalog(path).close()  # made, and up to date
    writer = Catalog(path)
    holding, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with writer.write():
            holding.set()
            release.wait(60)

    held = threading.Thread(target=hold_the_write_lock)
    held.start()
    opened = {}

    def open_and_read():
        catalog = Catalog(path)
        opened["folders"] = catalog.folders()
        catalog.close()

    try:
        assert holding.wait(10)
        reader = threading.Thread(target=open_and_read, daemon=True)
        reader.start()
        reader.join(10)
        assert opened == {"folders": []}, "opening to read waited for the writer"
    finally:
        release.set()
        held.join()


READ_ONLY_SCENARIO = """
import json, os, sys
from pathlib import Path
from core.query.filters import Filters
from core.store import Catalog
work = Path(sys.argv[1])
home, photos = work / "home", work / "Pictures"
catalog = Catalog(home / "catalog.db")
folder = catalog.add_folder(str(photos))
with catalog.write() as w:
    media = catalog.insert_media(w, folder, str(photos / "a.jpg"), 1, 1, "h")
catalog.store_vectors("m", [(media, [1.0, 0.0], {"camera": "Fujifilm X100V"})], [])
catalog.close()
os.chmod(home / "catalog.db", 0o400)
os.chmod(home, 0o500)
try:
    again = Catalog(home / "catalog.db")
    out = {"media": media, "folders": [f.path for f in again.folders()],
           "found": again.ids_passing(Filters(camera="x100v"), 10)}
    from core.library import Library
    out["status"] = Library(home).status()["media_count"]
finally:
    os.chmod(home, 0o700)
    os.chmod(home / "catalog.db", 0o600)
print(json.dumps(out))
"""


def test_a_read_only_home_still_answers(tmp_path):
    """A backup or a mounted snapshot: the catalog and its folder cannot be written. Root
    writes anything, so as root the scenario drops the capabilities that let it (see
    test_bad_input's unreadable file)."""
    from helpers import ROOT, without_override_capabilities

    prefix, work = without_override_capabilities(), tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
           "HOME": str(work), "XDG_CACHE_HOME": str(work / "cache")}
    proc = subprocess.run([*prefix, sys.executable, "-c", READ_ONLY_SCENARIO, str(work)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["folders"] == [str(work / "Pictures")]
    assert out["found"] == [out["media"]]
    assert out["status"] == 1


def test_a_long_file_comparison_never_holds_the_write_lock(tmp_path, monkeypatch):
    """A new file with a known file's size, head and tail is compared byte for byte (a copy
    takes the known file's vectors); on a large video over a slow share that takes long, and
    every other writer (the app's indexer, another command) would wait."""
    from core.folders import scanner

    folder = tmp_path / "Pictures"
    folder.mkdir()
    data = os.urandom(300_000)
    (folder / "a.jpg").write_bytes(data)
    catalog = Catalog(tmp_path / "home" / "catalog.db")
    folder_id = catalog.add_folder(str(folder))
    scanner.Scanner(catalog).scan([(folder_id, str(folder))])
    (known,) = catalog.media_in_folder(folder_id).values()
    catalog.store_vectors("m", [(known.id, np.ones(4, np.float32), {})], [])
    (folder / "b.jpg").write_bytes(data)

    comparing, release = threading.Event(), threading.Event()
    same_bytes = scanner._same_bytes

    def slow_compare(a, b):
        comparing.set()
        release.wait(60)
        return same_bytes(a, b)

    monkeypatch.setattr(scanner, "_same_bytes", slow_compare)
    result = {}
    scan = threading.Thread(target=lambda: result.update(
        changes=scanner.Scanner(catalog).scan([(folder_id, str(folder))])))
    scan.start()
    wrote = threading.Event()

    def write_meanwhile():  # another connection, as another process has
        Catalog(catalog.path).set_meta("touched", "yes")
        wrote.set()

    try:
        assert comparing.wait(10)
        threading.Thread(target=write_meanwhile, daemon=True).start()
        assert wrote.wait(10), "a writer waited for the comparison"
    finally:
        release.set()
        scan.join(60)
    assert result["changes"].report.copied == 1
    assert catalog.vector_count("m") == 2
