"""Which drive a path is on and what it is called, and asking a drive that may not answer.

A folder knows its drive by a name that outlives a replug: the filesystem's UUID, else its
label (udev's /dev/disk links, else blkid), a network share's source, a Windows volume's
serial number, and only where the system says none of these the device number, which a replug
may change (the folder's own photos then tell whether it is the same drive:
core/folders/presence.py). A drive that does not answer (a share whose server is gone) is
asked on a thread of its own, and never waited for past a time limit."""

from __future__ import annotations

import errno
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from core.paths import inside, spellings

T = TypeVar("T")

NETWORK_FS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "fuse.sshfs", "sshfs", "9p", "afs",
              "fuse.rclone", "davfs", "fuse.gvfsd-fuse"}
BY_LINKS = "/dev/disk"  # udev's links: by-uuid/<uuid> and by-label/<label> → /dev/sdb1
MOUNTINFO = "/proc/self/mountinfo"


class NotAnswering(OSError):
    """A drive did not answer in time (a network share whose server is gone)."""


@dataclass(frozen=True)
class Mount:
    """One line of the mount table."""

    id: int  # the kernel's, new at each mount
    device: int  # os.makedev(major, minor)
    mount_point: str
    fstype: str
    source: str  # /dev/sdb1, server:/export, //server/share, tmpfs...


@dataclass(frozen=True)
class Drive:
    """The filesystem a path is on now."""

    key: str  # uuid:…, label:…, net:…, serial:… (lasting), or dev:N (the device number)
    name: str  # what a person calls it: its label, or its mount point's name
    mount: str  # where it is mounted now

    @property
    def lasting(self) -> bool:
        return lasting(self.key)


def lasting(key: str | None) -> bool:
    """Whether a drive's key names it wherever and whenever it is mounted (not a device
    number, which the next mount may give another drive)."""
    return bool(key) and not key.startswith("dev:")


# -- the mount table ----------------------------------------------------------------------
def _unescape(field: str) -> str:
    """The kernel writes a space in a path as \\040, a tab as \\011."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """/proc/self/mountinfo's lines: id parent major:minor root mount-point options
    [optional fields] - fstype source super-options."""
    out = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            dash = fields.index("-", 6)
            major, minor = fields[2].split(":")
            out.append(Mount(int(fields[0]), os.makedev(int(major), int(minor)),
                             _unescape(fields[4]), fields[dash + 1], _unescape(fields[dash + 2])))
        except (ValueError, IndexError):
            continue
    return out


def mounts() -> list[Mount]:
    """The mount table, oldest mount first (Linux); empty elsewhere."""
    try:
        with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as f:
            return parse_mountinfo(f.read())
    except OSError:
        return []


def mount_of(path: str, table: list[Mount]) -> Mount | None:
    """The mount a path lies on: the deepest mount point above it, the last mounted there."""
    best = None
    for mount in table:
        if inside(path, mount.mount_point) and (
                best is None or len(mount.mount_point) >= len(best.mount_point)):
            best = mount
    return best


def filesystem_type(path: str) -> str | None:
    """The type of the filesystem holding a path (Linux); None elsewhere. Reads the mount
    table only: it never waits on the drive itself."""
    mount = mount_of(path, mounts())
    return mount.fstype if mount else None


def is_network(mount: Mount) -> bool:
    return mount.fstype in NETWORK_FS or mount.fstype.startswith("nfs")


def signature(paths: Iterable[str]) -> tuple:
    """What changes when a drive comes or goes where it matters to these folders: mounts of
    block devices and network shares anywhere (a drive back at another mount point), and any
    mount at, above or inside one of the folders. Empty where there is no mount table."""
    paths = list(paths)
    return tuple((m.id, m.mount_point) for m in mounts()
                 if m.source.startswith("/dev/") or is_network(m)
                 or any(inside(p, m.mount_point) or inside(m.mount_point, p) for p in paths))


# -- names --------------------------------------------------------------------------------

def _unhex(name: str) -> str:
    """udev writes a space in a link's name as \\x20."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m[1], 16)), name)


def _linked(kind: str, device: int) -> str | None:
    folder = os.path.join(BY_LINKS, f"by-{kind}")
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    for name in names:
        try:
            if os.stat(os.path.join(folder, name)).st_rdev == device:
                return _unhex(name)
        except OSError:
            continue
    return None


def _blkid(source: str) -> dict[str, str]:
    """What blkid reads of a block device (it can where the device is readable: as root, or
    in the disk group); no cache file is read or written (-c /dev/null)."""
    if not source.startswith("/dev/") or shutil.which("blkid") is None:
        return {}
    try:
        out = subprocess.run(["blkid", "-c", "/dev/null", "-o", "export", "--", source],
                             capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        found[key] = re.sub(r"\\(.)", r"\1", value)  # shell quoting: My\ Drive
    return found


def _names(mount: Mount) -> tuple[str | None, str | None]:
    """(UUID, label) of a mounted filesystem, where the system says them. Asked each time:
    the kernel gives a mount's id and a device's number again to the next drive plugged in."""
    uuid, label = _linked("uuid", mount.device), _linked("label", mount.device)
    if uuid is None and label is None:
        probed = _blkid(mount.source)
        uuid, label = probed.get("UUID") or None, probed.get("LABEL") or None
    return uuid, label


def _base(mount_point: str) -> str:
    """A mount point's own name ("USB" for /media/anna/USB); the root's is its label alone."""
    return os.path.basename(mount_point.rstrip("/\\"))


def _from_mount(mount: Mount, device: int) -> Drive:
    if is_network(mount):
        return Drive(f"net:{mount.source}", _base(mount.mount_point), mount.mount_point)
    uuid, label = _names(mount)
    key = f"uuid:{uuid}" if uuid else f"label:{label}" if label else f"dev:{device}"
    return Drive(key, label or _base(mount.mount_point), mount.mount_point)


def drives_mounted() -> list[Drive]:
    """Every block device and network share mounted now (Linux): where a drive that was
    away may be back."""
    found = []
    for mount in mounts():
        if mount.source.startswith("/dev/") or is_network(mount):
            found.append(_from_mount(mount, mount.device))
    return found


def drive_of(path: str) -> Drive | None:
    """The drive a path is on now; None when the path is not there. It may wait on a drive
    that does not answer: ask through `within`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if sys.platform.startswith("linux"):
        mount = mount_of(path, mounts())
        if mount is not None:
            return _from_mount(mount, st.st_dev)
    if sys.platform == "win32":
        named = _windows_drive(path)
        if named is not None:
            return named
    top = _mount_point(path, st.st_dev)
    if sys.platform == "darwin":
        named = _mac_drive(top)
        if named is not None:
            return named
    # the documented fallback: the mount point's device number, and its folder's name
    return Drive(f"dev:{st.st_dev}", _base(top), top)


def _mount_point(path: str, device: int) -> str:
    """The top of the filesystem a path is on: the highest folder above it on its device."""
    while True:
        parent = os.path.dirname(path)
        try:
            if parent == path or os.stat(parent).st_dev != device:
                return path
        except OSError:
            return path
        path = parent


def _mac_drive(mount_point: str) -> Drive | None:
    """macOS: the volume's UUID and name, as diskutil says them."""
    import plistlib

    try:
        out = subprocess.run(["diskutil", "info", "-plist", mount_point], capture_output=True,
                             timeout=5, check=False).stdout
        info = plistlib.loads(out)
    except (OSError, subprocess.SubprocessError, plistlib.InvalidFileException, ValueError):
        return None
    uuid, name = info.get("VolumeUUID"), info.get("VolumeName") or _base(mount_point)
    return Drive(f"uuid:{uuid}", name, mount_point) if uuid else None


def _windows_drive(path: str) -> Drive | None:
    """Windows: the volume's serial number and label."""
    import ctypes

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    root = ctypes.create_unicode_buffer(261)
    label = ctypes.create_unicode_buffer(261)
    serial = ctypes.c_uint32()
    if not kernel.GetVolumePathNameW(path, root, 261) or not kernel.GetVolumeInformationW(
            root.value, label, 261, ctypes.byref(serial), None, None, None, 0):
        return None
    return Drive(f"serial:{serial.value:08X}", label.value or root.value, root.value)


# -- asking a drive that may not answer ----------------------------------------------------
_waiting: dict[str, threading.Thread] = {}
_waiting_lock = threading.Lock()


def within(call: Callable[[], T], seconds: float, about: str) -> T:
    """call() on a thread of its own, waited for `seconds`: NotAnswering when it takes longer
    (the thread is left to end whenever the drive answers). While a call about the same path
    still waits from before, none is started: NotAnswering at once."""
    with _waiting_lock:
        before = _waiting.get(about)
        if before is not None and before.is_alive():
            raise NotAnswering(errno.ETIMEDOUT, "still not answering", about)
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name="snapseek-drive", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        with _waiting_lock:
            _waiting[about] = thread
        raise NotAnswering(errno.ETIMEDOUT, f"not answering after {seconds:g} s", about)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def known_as(path, known: Callable[[str], T | None], seconds: float) -> tuple[T | None, bool]:
    """What `known` says of the first spelling of a path a person gives that it knows, and
    whether the drive answered: the path as given first (a catalog holding it that way needs
    nothing from the drive, answering or not), then its other spellings read within
    `seconds`."""
    given = os.path.abspath(os.path.expanduser(os.fspath(path)))
    value = known(given)
    if value is not None:
        return value, True
    found, answered = spellings_within(path, seconds)
    for spelling in found:
        if spelling != given and (value := known(spelling)) is not None:
            return value, True
    return None, answered


def spellings_within(path: str, seconds: float) -> tuple[list[str], bool]:
    """The ways the catalog may have stored a path a person gives (core.paths.spellings: its
    links resolved, which reads the drive), read with a time limit: (spellings, True); on a
    drive that does not answer, the path as given alone and False."""
    try:
        return within(lambda: spellings(path), seconds, f"{path} (spellings)"), True
    except NotAnswering:
        return [os.path.abspath(os.path.expanduser(os.fspath(path)))], False


# the walk's items are handed over in lists of up to this many, or sooner when HAND_EVERY_S
# passed since the last list: one item at a time, the two threads took turns at the
# interpreter lock for each (10,000 unchanged photos: 0.20 s instead of 0.09 for the walk)
HAND_AT_MOST = 256
HAND_EVERY_S = 0.05


def answering(items: Iterator[T], quiet_s: float, about: str) -> Iterator[T]:
    """The items of an iterator that reads a drive (a walk), made on a thread of its own;
    NotAnswering when none comes for `quiet_s` seconds. A long walk is never cut short; one
    that stops hearing from its drive is."""
    handed: queue.Queue = queue.Queue(maxsize=16)
    stop = threading.Event()

    def hand(kind: str, value) -> bool:
        while not stop.is_set():
            try:
                handed.put((kind, value), timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        batch: list = []
        try:
            last = time.monotonic()
            for item in items:
                batch.append(item)
                if len(batch) >= HAND_AT_MOST or time.monotonic() - last >= HAND_EVERY_S:
                    if not hand("items", batch):
                        return
                    batch, last = [], time.monotonic()
            if batch and not hand("items", batch):
                return
            handed.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            if batch:
                hand("items", batch)  # what was read before the error still counts
            handed.put(("error", exc))

    threading.Thread(target=make, name="snapseek-walk", daemon=True).start()
    try:
        while True:
            try:
                kind, value = handed.get(timeout=quiet_s)
            except queue.Empty:
                raise NotAnswering(errno.ETIMEDOUT, f"not answering after {quiet_s:g} s",
                                   about) from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield from value
    finally:
        stop.set()
