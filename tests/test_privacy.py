"""Nothing leaves the machine, checked from outside the processes: the real `snapseek` commands
and the real app (under Xvfb) run under `strace -f` with HOME and the XDG folders pointing at an
empty folder and a local model. Every process of theirs, children included, is watched: each
address it tries to reach and each file or folder it creates.

What may be written (and nothing else):
- the library home, `$XDG_DATA_HOME/snapseek` (catalog, index, thumbnails, exported model);
- the app's config folder, `$XDG_CONFIG_HOME/Snapseek` (the app's settings, Qt's QSettings);
- the app's cache folder, `$XDG_CACHE_HOME/snapseek` (the log, torch's compile cache);
- the temporary folder, for files that are gone again when the process ends;
- what the user names: `explain --out`; and /dev/null, /dev/shm (semaphores), /proc, /dev/tty.
What may be reached: loopback only, and local sockets (the X server, the app's own
one-instance socket); never a name server (a name lookup is the first step out)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, make_photo

missing = [t for t in ("strace",) if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason="needs strace (Debian: strace; .ci/run "
                                "installs it)")

CALLS = ("connect,sendto,sendmsg,sendmmsg,bind,openat,open,creat,mkdir,mkdirat,rename,renameat,"
         "renameat2,link,linkat,symlink,symlinkat")
SYSTEM = ("/dev/null", "/dev/tty", "/dev/pts/", "/dev/shm/", "/proc/", "/dev/urandom")
LOOPBACK = ("127.", "::1", "::ffff:127.")


class Sandbox:
    """An empty home; each command runs in it under strace, its trace kept for reading."""

    def __init__(self, root: Path, model: str):
        self.root, self.model = root, model
        self.home = root / "home"
        self.tmp = root / "tmp"
        self.out = root / "out"  # what the user asks to be written (explain --out)
        for d in (self.home, self.tmp, self.out, root / "cwd"):
            d.mkdir(parents=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "TMPDIR": str(self.tmp), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8",
            # the checkout's own bytecode is not the app's doing (an installed app has it)
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.allowed = [self.home / ".local" / "share" / "snapseek",
                        self.home / ".config" / "Snapseek", self.home / ".cache" / "snapseek",
                        self.tmp, self.out]
        self.traces: list[Path] = []

    def command(self, name: str, *args: str, extra_env: dict | None = None) -> list[str]:
        trace = self.root / f"trace-{len(self.traces)}-{name}.log"
        self.traces.append(trace)
        return ["strace", "-f", "-qq", "--seccomp-bpf", "-y", "-s", "4096", "-e",
                f"trace={CALLS}", "-o", str(trace), *args]

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        cmd = self.command(args[0], sys.executable, "-m", "core.cli", "--model", self.model,
                           *args)
        proc = subprocess.run(cmd, env=self.env, cwd=self.root / "cwd", capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode == 0, f"snapseek {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def findings(self) -> tuple[list[str], list[str]]:
        """(addresses tried, files created outside what is allowed), from every trace."""
        reached, written = [], []
        for trace in self.traces:
            for line in trace.read_text(errors="replace").splitlines():
                reached += _reached(line)
                written += [p for p in _created(line, self.root / "cwd")
                            if not self._allowed(p)]
        return sorted(set(reached)), sorted(set(written))

    def _allowed(self, path: str) -> bool:
        if path.startswith(SYSTEM):
            return True
        p = Path(os.path.normpath(path))
        # the folders above an allowed one are made on the way to it (~/.cache, ~/.local/share)
        return any(p == a or a in p.parents or (p in a.parents and self.home in p.parents)
                   for a in self.allowed)


INET = re.compile(r'sa_family=AF_INET6?, .*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')
PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def _reached(line: str) -> list[str]:
    """Internet addresses a connect, sendto or sendmsg in this trace line tried."""
    if not re.search(r"\b(connect|sendto|sendmsg|sendmmsg)\(", line):
        return []
    found = []
    for v4, v6 in INET.findall(line):
        address = v4 or v6
        port = PORT.search(line)
        dns = port is not None and port.group(1) == "53"
        if dns or not address.startswith(LOOPBACK):
            found.append(f"{address}:{port.group(1) if port else '?'} ({line.strip()[:160]})")
    return found


OPENED = re.compile(r'\b(?:openat|open|creat)\((?:[^,]*, )?"([^"]*)", ([A-Z_|]+)[^)]*\) = \d+<([^>]*)>')
MADE = re.compile(r'\b(?:mkdir|mkdirat|symlink|symlinkat|link|linkat|rename|renameat|renameat2)'
                  r'\((.*)\) = 0$')
FD_PATH = re.compile(r"^\d+<([^>]*)>$")


def _created(line: str, cwd: Path) -> list[str]:
    """Paths this trace line created or opened for writing (successfully)."""
    m = OPENED.search(line)
    if m:
        flags = m.group(2)
        if any(f in flags for f in ("O_CREAT", "O_WRONLY", "O_RDWR")):
            return [m.group(3)]
        return []
    m = MADE.search(line)
    if not m:
        return []
    # the last path argument is the one made (mkdirat(dirfd, "path"), renameat(.., .., dirfd, "new"))
    args = re.findall(r'(\d+<[^>]*>|AT_FDCWD|"[^"]*")', m.group(1))
    if not args:
        return []
    target = args[-1].strip('"')
    base = str(cwd)
    if len(args) >= 2 and FD_PATH.match(args[-2]):
        base = FD_PATH.match(args[-2]).group(1)
    return [target if target.startswith("/") else os.path.join(base, target)]


def _photos(folder: Path) -> None:
    """Shapes, a sign, a receipt-like page and two real faces."""
    import matplotlib.cbook
    from PIL import Image, ImageDraw, ImageFont
    from skimage import data

    for i, (colour, shape) in enumerate([("red", "circle"), ("green", "square"),
                                         ("blue", "triangle"), ("red", "circle")]):
        make_photo(folder / f"shape-{i}.jpg", colour, shape, seed=i)
    sign = Image.new("RGB", (900, 400), "white")
    draw = ImageDraw.Draw(sign)
    draw.text((60, 140), "HOTEL MIRAMAR", fill="black", font=ImageFont.load_default(size=80))
    sign.save(folder / "sign.jpg")
    Image.fromarray(data.astronaut()).save(folder / "astronaut.jpg")
    shutil.copy(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False),
                folder / "grace.jpg")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, random_model):
    root = tmp_path_factory.mktemp("privacy")
    model_dir = root / "model"
    shutil.copytree(random_model.removeprefix("local-dir:"), model_dir)
    box = Sandbox(root, f"local-dir:{model_dir}")
    box.photos = root / "Pictures"
    _photos(box.photos)
    return box


def _assert_nothing_left(box: Sandbox) -> None:
    reached, written = box.findings()
    assert not reached, "tried to reach the network:\n" + "\n".join(reached)
    assert not written, "created outside the allowed folders:\n" + "\n".join(written)
    leftovers = [str(p) for p in box.tmp.rglob("*")]
    assert not leftovers, f"left in the temporary folder: {leftovers}"


@pytest.mark.timeout(1200)  # every command under strace, the second pass included
def test_the_command_line_keeps_everything_on_the_machine(sandbox):
    box = sandbox
    index = box.cli("index", str(box.photos))  # faces and text included
    assert "failed 0" in index.stdout + index.stderr
    found = json.loads(box.cli("search", "red circle", "--json").stdout)
    assert found, "the search found nothing"
    box.cli("search", "miramar")
    box.cli("people")
    box.cli("explain", str(box.photos / "shape-0.jpg"), "red circle", "--out",
            str(box.out / "why.png"))
    assert (box.out / "why.png").exists()
    box.cli("duplicates")
    box.cli("status")
    _assert_nothing_left(box)


@pytest.mark.skipif(any(shutil.which(t) is None for t in ("Xvfb", "xdotool")),
                    reason="needs Xvfb and xdotool (.ci/run installs them)")
@pytest.mark.timeout(1200)  # the app under strace, on a machine that may be busy
def test_the_app_keeps_everything_on_the_machine(sandbox):
    box = sandbox
    if not (box.home / ".local" / "share" / "snapseek" / "catalog.db").exists():
        box.cli("index", "--no-faces", str(box.photos))
    box.traces.clear()
    state = box.out / "state.json"
    display = _xvfb(box.root)
    env = {**box.env, "DISPLAY": display.name, "QT_QPA_PLATFORM": "xcb",
           "SNAPSEEK_OBSERVE": str(state)}
    cmd = box.command("app", sys.executable, str(ROOT / "tests" / "desktop" / "observed_app.py"))
    app = subprocess.Popen(cmd, env=env, cwd=box.root / "cwd", stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    try:
        before = _wait(app, state, lambda s: s["ready"], "the window to open its library")
        x = lambda *a: subprocess.run(["xdotool", *a], env=env, check=True, timeout=30,  # noqa: E731
                                      capture_output=True)
        window = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name",
                                 "^Snapseek$"], env=env, capture_output=True, text=True,
                                timeout=60).stdout.split()[0]
        x("windowfocus", "--sync", window)
        x("key", "--window", window, "ctrl+f")
        x("type", "--delay", "30", "red circle")
        x("key", "Return")
        _wait(app, state, lambda s: s["text"] == "red circle" and s["results"]
              and s["generation"] > before["generation"] and not s["busy"],
              "results for the typed search")
        x("key", "ctrl+q")
        assert app.wait(timeout=60) == 0, app.stdout.read().decode()[-3000:]
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        display.proc.kill()
        display.proc.wait()
    _assert_nothing_left(box)


class _Display:
    def __init__(self, name: str, proc: subprocess.Popen):
        self.name, self.proc = name, proc


def _xvfb(root: Path) -> _Display:
    """A virtual screen of its own (not traced: the X server is not ours)."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        number = pipe.readline().decode().strip()
    if not number:
        proc.kill()
        pytest.skip("Xvfb did not start")
    return _Display(f":{number}", proc)


def _wait(app: subprocess.Popen, state: Path, condition, what: str, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise AssertionError(f"the app ended: {app.stdout.read().decode()[-3000:]}")
        try:
            current = json.loads(state.read_text())
        except (OSError, ValueError):
            current = None
        if current and condition(current):
            return current
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
