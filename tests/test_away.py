"""Drives that come and go, with real mounts: an unplugged drive's photos are away, never
forgotten; back at the same or another mount point costs nothing; a sweep that would empty a
folder asks first; and a share that does not answer never holds anything up."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from helpers import Watching, make_photo, run_cli
from mounts import (
    bind,
    make_drive,
    mount_tmpfs,
    mounted,
    need_mounts,
    not_answering,
    plug,
    umount,
)

from core.folders import drives
from core.store import Catalog
from core.types import SnapseekError

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


def fill(folder: Path, n: int = 12) -> None:
    for i in range(n):
        make_photo(folder / f"trip/{i:02d}.jpg", COLOURS[i % 6], ["circle", "square"][i % 2],
                   size=(160, 120), seed=i)


def catalog_state(home: Path) -> tuple[dict[str, int], int, int]:
    """(path → media id, vectors, the newest vector's seq): what `index` kept and made."""
    catalog = Catalog(home / "catalog.db")
    try:
        ids = dict(catalog.db.execute("SELECT path, id FROM media").fetchall())
        vectors, seq = catalog.db.execute(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM embeddings").fetchone()
    finally:
        catalog.close()
    return ids, vectors, seq


def index(home: Path, model: str, *args: str) -> tuple[dict, str]:
    done = run_cli("index", "--no-faces", "--json", *args, home=home, model=model)
    return json.loads(done.stdout), done.stderr


def status(home: Path) -> dict:
    return json.loads(run_cli("status", "--json", home=home).stdout)


def test_an_unplugged_drive_is_away_and_back_at_another_mount_point_costs_nothing(
        tmp_path, home, random_model):
    need_mounts()
    image, usb, usb1 = tmp_path / "usb.img", tmp_path / "media" / "USB", tmp_path / "media" / "USB1"
    make_drive(image, "USB")
    with mounted(usb, usb1):
        plug(image, usb)
        fill(usb)
        report, _ = index(home, random_model, str(usb))
        assert (report["new"], report["embedded"]) == (12, 12)
        ids, vectors, seq = catalog_state(home)

        umount(usb)  # unplugged: the mount point stays, an empty folder
        report, said = index(home, random_model)
        assert (report["removed"], report["embedded"]) == (0, 0)
        assert report["away"] == [{"folder": str(usb), "drive": "USB", "why": "not connected",
                                   "photos": 12}]
        assert f"{usb} is on USB, not connected: its 12 photos are kept" in said
        assert catalog_state(home) == (ids, vectors, seq)  # nothing forgotten
        told = status(home)
        assert told["media_count"] == 12 and told["away"][0]["drive"] == "USB"
        assert told["folders"][0]["away"] == "on USB, not connected"
        text = run_cli("status", home=home).stdout
        assert "Away     USB (not connected): its 12 photos are kept" in text
        found = json.loads(run_cli("search", "red circle", "--json", "-k", "3", home=home).stdout)
        assert found and all(r["away"] == "on USB, not connected" for r in found)  # searchable

        plug(image, usb)  # back where it was
        report, _ = index(home, random_model)
        assert (report["new"], report["removed"], report["embedded"], report["unchanged"]) == (
            0, 0, 0, 12)
        assert catalog_state(home) == (ids, vectors, seq)
        assert status(home)["away"] == []

        umount(usb)
        plug(image, usb1)  # back at another mount point, beside the stale USB folder
        report, said = index(home, random_model)
        assert (report["new"], report["removed"], report["embedded"], report["unchanged"]) == (
            0, 0, 0, 12)
        moved = {p.replace(str(usb1), str(usb)): i for p, i in catalog_state(home)[0].items()}
        assert moved == ids  # the same ids answer, under the new mount point
        assert catalog_state(home)[1:] == (vectors, seq)  # nothing embedded again
        assert [f["path"] for f in status(home)["folders"]] == [str(usb1)]
        found = json.loads(run_cli("search", "red circle", "--json", "-k", "3", home=home).stdout)
        assert found and all(r["path"].startswith(str(usb1)) and "away" not in r for r in found)


def test_a_drive_known_only_by_its_device_is_told_by_its_photos(tmp_path, home, random_model):
    """tmpfs has no UUID or label: the next mount gets another device number. An empty mount
    point is away; a mount that holds the folder's photos where they were is its drive."""
    need_mounts()
    card, kept = tmp_path / "CARD", tmp_path / "copy"
    with mounted(card):
        mount_tmpfs(card)
        fill(card)
        index(home, random_model, str(card))
        ids, vectors, seq = catalog_state(home)
        shutil.copytree(card, kept)  # the files as they are, times and all
        umount(card)
        report, _ = index(home, random_model)
        assert report["removed"] == 0 and [a["drive"] for a in report["away"]] == ["CARD"]
        mount_tmpfs(card)  # another mount, another device number, the same photos
        shutil.copytree(kept, card, dirs_exist_ok=True)
        report, _ = index(home, random_model)
        assert (report["away"], report["removed"], report["embedded"]) == ([], 0, 0)
        assert catalog_state(home) == (ids, vectors, seq)


def test_a_sweep_that_would_empty_a_folder_asks_first(tmp_path, home, random_model):
    folder = tmp_path / "Pictures"
    fill(folder, 14)
    index(home, random_model, str(folder))
    ids, vectors, _ = catalog_state(home)
    for photo in sorted((folder / "trip").iterdir())[:2]:
        photo.unlink()  # a few deleted: forgotten as always
    report, _ = index(home, random_model)
    assert (report["removed"], report["held"]) == (2, [])
    for photo in sorted((folder / "trip").iterdir())[:10]:
        photo.unlink()  # most of what is left, at once: kept, and said
    report, said = index(home, random_model)
    assert (report["removed"], report["held"]) == (
        0, [{"folder": str(folder), "gone": 10, "photos": 12}])
    assert f"10 of the 12 photos in {folder} are gone" in said and "--forget-missing" in said
    assert status(home)["media_count"] == 12
    report, _ = index(home, random_model, "--forget-missing")  # said so: forgotten
    assert (report["removed"], report["held"]) == (10, [])
    assert status(home)["media_count"] == 2
    assert set(catalog_state(home)[0].values()) < set(ids.values())


def test_an_emptied_folder_on_its_drive_is_held_too(tmp_path, home, random_model):
    """A bind mount over a folder of the same filesystem, then gone: the drive cannot tell it
    from an emptied folder; the photos are held, not forgotten."""
    need_mounts()
    source, folder = tmp_path / "source", tmp_path / "Photos"
    fill(source)
    with mounted(folder):
        bind(source, folder)
        index(home, random_model, str(folder))
        ids = catalog_state(home)[0]
        umount(folder)
        report, _ = index(home, random_model)
        assert report["removed"] == 0
        assert report["held"] == [{"folder": str(folder), "gone": 12, "photos": 12}]
        assert catalog_state(home)[0] == ids


def test_a_share_that_does_not_answer_is_away_in_seconds(tmp_path, library, monkeypatch):
    need_mounts()
    from core.folders.presence import Presence
    from core.folders.scanner import Scanner

    monkeypatch.setattr(Presence, "ASK_WITHIN_S", 1.0)
    monkeypatch.setattr(Scanner, "QUIET_S", 1.0)
    nas, inner = tmp_path / "nas", tmp_path / "Photos" / "share"
    make_photo(tmp_path / "Photos" / "here.jpg", "red", size=(160, 120))
    with mounted(nas, inner):
        mount_tmpfs(nas)
        fill(nas)
        mount_tmpfs(inner)
        fill(inner)
        library.add_folder(nas)
        library.add_folder(tmp_path / "Photos")
        library.update()
        assert library.catalog.media_count() == 25
        umount(nas)
        umount(inner)
        with not_answering(nas), not_answering(inner):
            started = time.monotonic()
            report = library.update()  # the share itself, and a share inside a folder
            assert time.monotonic() - started < 15
            assert (report.scan.removed, library.catalog.media_count()) == (0, 25)
            assert sorted((a.drive, a.why) for a in report.scan.away) == [
                ("Photos", "not answering"), ("nas", "not answering")]
            started = time.monotonic()
            assert len(library.status()["away"]) == 2  # asked again: not waited for again
            assert time.monotonic() - started < 5
            with pytest.raises(SnapseekError, match="not answering"):  # said, not waited for
                drives.within(lambda: library.add_folder(inner / "more"), 30, "add")
            # a thumbnail lost from the home is not made again from a drive that is away
            media_id = library.catalog.media_id_of(str(nas / "trip" / "00.jpg"))
            for thumb in library.thumbs.rglob(f"{media_id}.jpg"):
                thumb.unlink()
            assert drives.within(lambda: library.thumbnail(media_id), 5, "thumbnail") is None


def test_a_photo_asked_for_on_a_share_that_does_not_answer_is_said_in_seconds(
        tmp_path, library, monkeypatch):
    """A path a person gives is read (its links resolved) with the scans' time limit: a
    photo the catalog holds as given is found all the same, another is said in one line."""
    need_mounts()
    from core.folders.presence import Presence

    monkeypatch.setattr(Presence, "ASK_WITHIN_S", 4.0)
    nas = tmp_path / "nas"
    photo = nas / "trip" / "00.jpg"
    with mounted(nas):
        mount_tmpfs(nas)
        fill(nas, 2)
        library.add_folder(nas)
        library.update()
        media_id = library.media_id_of(str(photo))
        umount(nas)
        with not_answering(nas):
            started = time.monotonic()
            asked = drives.within(lambda: library.media_id_of(str(photo)), 10, "asked")
            assert asked == media_id  # the catalog's own spelling: no need to ask the share,
            assert time.monotonic() - started < 2  # nor to wait for it
            for _ in range(2):  # and again, while the first look still waits
                with pytest.raises(SnapseekError, match="not answering") as told:
                    drives.within(lambda: library.media_id_of(str(nas / "trip" / "99.jpg")),
                                  10, "asked")
                assert "\n" not in str(told.value)
            # the folder itself is paused, and forgotten, without waiting for it
            started = time.monotonic()
            drives.within(lambda: library.set_folder_paused(str(nas), True), 10, "pause")
            assert [f.paused for f in library.folders()] == [True]
            assert drives.within(lambda: library.remove_folder(nas), 10, "remove") == 2
            assert time.monotonic() - started < 2


def test_watch_started_while_the_drive_is_away_keeps_it_and_takes_it_back(
        tmp_path, home, random_model):
    need_mounts()
    image, usb = tmp_path / "usb.img", tmp_path / "media" / "USB"
    make_drive(image, "USB")
    with mounted(usb):
        plug(image, usb)
        fill(usb)
        index(home, random_model, str(usb))
        ids, vectors, seq = catalog_state(home)
        umount(usb)
        with Watching(home, random_model,
                      {"SNAPSEEK_NO_FACES": "1", "SNAPSEEK_NO_TEXT": "1"}) as watch:
            away = f"{usb} is away (on USB, not connected): its 12 photos are kept"
            watch.wait_for(away)
            assert catalog_state(home) == (ids, vectors, seq)
            plug(image, usb)
            watch.wait_for(f"{usb} is back")
            umount(usb)  # unplugged while watched
            watch.wait_for(away)
            plug(image, usb)
            watch.wait_for(f"{usb} is back")
            assert watch.stop() == 0, "".join(watch.said)
        assert catalog_state(home) == (ids, vectors, seq)  # nothing forgotten or embedded again
