"""Which drive a folder is on and what it is called, with real mounts; and a drive that does
not answer is never waited for."""

from __future__ import annotations

import os
import time

import pytest
from mounts import make_drive, mount_tmpfs, mounted, need_mounts, not_answering, plug, umount

from core.folders import drives
from core.folders.drives import NotAnswering


def test_a_drive_is_known_by_its_uuid_and_called_by_its_label(tmp_path):
    need_mounts()
    image, usb, other = tmp_path / "usb.img", tmp_path / "media" / "USB", tmp_path / "USB1"
    uuid = make_drive(image, "HOLIDAYS")
    usb.mkdir(parents=True)
    root = drives.drive_of(str(usb))  # the empty mount point: the disk the tests run on
    with mounted(usb, other):
        plug(image, usb)
        (usb / "Photos").mkdir()
        on_usb = drives.drive_of(str(usb / "Photos"))
        assert (on_usb.key, on_usb.name, on_usb.mount) == (f"uuid:{uuid}", "HOLIDAYS", str(usb))
        assert on_usb.lasting
        assert on_usb.key in {d.key for d in drives.drives_mounted()}
        umount(usb)
        assert drives.drive_of(str(usb)).key == root.key != on_usb.key  # unplugged
        assert drives.drive_of(str(usb / "Photos")) is None
        plug(image, other)  # back, at another mount point
        again = drives.drive_of(str(other / "Photos"))
        assert (again.key, again.name, again.mount) == (on_usb.key, "HOLIDAYS", str(other))


def test_a_filesystem_without_a_uuid_is_known_by_its_device_and_called_by_its_mount_point(
        tmp_path):
    need_mounts()
    card = tmp_path / "CARD"
    with mounted(card):
        mount_tmpfs(card)
        drive = drives.drive_of(str(card))
        assert (drive.key, drive.name, drive.mount) == (
            f"dev:{os.stat(card).st_dev}", "CARD", str(card))
        assert not drive.lasting  # the next mount may give another drive this number


def test_a_network_share_is_known_by_its_source():
    line = ("312 29 0:58 / /mnt/nas\\040photos rw,relatime shared:150 - nfs4 "
            "nas.local:/volume1/photos rw,vers=4.2\n")
    (mount,) = drives.parse_mountinfo(line)
    assert (mount.mount_point, mount.fstype, mount.source) == (
        "/mnt/nas photos", "nfs4", "nas.local:/volume1/photos")
    drive = drives._from_mount(mount, mount.device)
    assert (drive.key, drive.name) == ("net:nas.local:/volume1/photos", "nas photos")
    assert drive.lasting


def test_a_drive_that_does_not_answer_is_not_waited_for(tmp_path):
    need_mounts()
    with not_answering(tmp_path / "nas") as nas:
        started = time.monotonic()
        with pytest.raises(NotAnswering):
            drives.within(lambda: os.stat(nas), 0.5, str(nas))
        assert time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(NotAnswering):  # still waiting from before: not asked again
            drives.within(lambda: os.stat(nas), 5, str(nas))
        assert time.monotonic() - started < 0.5
        with pytest.raises(NotAnswering):
            list(drives.answering(iter(lambda: os.listdir(nas), None), 0.5, str(nas)))
        assert drives.filesystem_type(str(nas)) == "fuse"  # the mount table never waits


def test_another_drive_plugged_in_where_one_was_is_another_drive(tmp_path):
    """The kernel gives the next drive the same loop device, mount id and mount point: its
    names are read again, never remembered from the one before."""
    need_mounts()
    usb = tmp_path / "USB"
    first = make_drive(tmp_path / "a.img", "ANNA")
    second = make_drive(tmp_path / "b.img", "BEN")
    with mounted(usb):
        plug(tmp_path / "a.img", usb)
        assert drives.drive_of(str(usb)).key == f"uuid:{first}"
        umount(usb)
        plug(tmp_path / "b.img", usb)
        assert (drives.drive_of(str(usb)).key, drives.drive_of(str(usb)).name) == (
            f"uuid:{second}", "BEN")
