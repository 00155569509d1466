"""Shared fixtures: a tiny random model as a local-dir folder, synthetic photos, a library."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from helpers import home_holding, make_photo, make_random_model

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# QSettings and other per-user files go to a throw-away folder, never the real profile
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="snapseek-test-config-")
atexit.register(shutil.rmtree, os.environ["XDG_CONFIG_HOME"], ignore_errors=True)
# the app's cache folder (the log, downloaded models) is the session's: nothing reaches the
# user's own
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="snapseek-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)
os.environ["HF_HUB_OFFLINE"] = "1"
LOCAL = ("127.0.0.1", "::1", "localhost")


def _faults_file(controller_pid: int, worker: str) -> Path:
    return Path(tempfile.gettempdir()) / f"snapseek-test-faults-{controller_pid}-{worker}.txt"


def pytest_configure(config):
    """A test worker that dies (a crash in a C library) takes its stderr with it: its last
    words, the Python stack of every thread, go to a file the controller shows."""
    import faulthandler

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        config._faults = open(_faults_file(os.getppid(), worker), "w")  # noqa: SIM115
        faulthandler.enable(file=config._faults, all_threads=True)


def pytest_testnodedown(node, error):
    """In the controller: a worker gone wrong shows what its faulthandler wrote."""
    path = _faults_file(os.getpid(), node.gateway.id)
    try:
        text = path.read_text(errors="replace").strip() if error else ""
        path.unlink()
    except OSError:
        return
    if text:
        reporter = node.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(f"[{node.gateway.id}] its faulthandler wrote:\n{text[-20000:]}")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path_factory):
    """Tests never touch the network: any outbound connection or name lookup fails the test,
    also one made by a process forked from the test (a library's helper that phones home):
    each attempt is written to a file that the test's end reads."""
    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo
    attempts = tmp_path_factory.mktemp("network") / "attempts"

    def refuse(what) -> None:
        with open(attempts, "a") as f:
            f.write(f"pid {os.getpid()}: {what}\n")
        raise AssertionError(f"test tried to reach the network: {what}")

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL:
            refuse(f"connect {address}")
        return real_connect(self, address)

    def lookup(host, *a, **k):
        if host not in LOCAL and host is not None:
            refuse(f"look up {host!r}")
        return real_lookup(host, *a, **k)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    yield
    if attempts.exists():
        pytest.fail("the network was tried:\n" + attempts.read_text())


@pytest.fixture(scope="session")
def random_model(tmp_path_factory) -> str:
    return make_random_model(tmp_path_factory.mktemp("models") / "tiny-random")


@pytest.fixture
def photo_dir(tmp_path):
    folder = tmp_path / "Pictures"
    specs = [("red", "circle"), ("green", "square"), ("blue", "triangle"),
             ("yellow", "stripe"), ("purple", "circle"), ("orange", "square")]
    for i, (colour, shape) in enumerate(specs):
        make_photo(folder / f"{colour}_{shape}.jpg", colour, shape, seed=i)
    make_photo(folder / "sub" / "red_square.png", "red", "square", seed=10)
    make_photo(folder / "sub" / "blue_circle.webp", "blue", "circle", seed=11)
    return folder


@pytest.fixture
def home(tmp_path, exported_runtime) -> Path:
    """An empty library home holding the tiny model's built towers (built once a run)."""
    return home_holding(tmp_path, exported_runtime)


def towers_made(model: str, folder: Path) -> Path:
    """A model's towers made as a first run makes them, in a home in `folder`: its runtime."""
    from PIL import Image

    from core.library import Library

    home = folder / "home"
    with Library(home, model=model) as lib:
        lib.load_model().encode_images([Image.new("RGB", (64, 48), (120, 80, 40))])
    return home / "runtime"


@pytest.fixture(scope="session")
def trained_runtime(trained_model, tmp_path_factory) -> Path:
    """The trained model's towers, made once a run: its image tower is a ResNet, which the
    builder does not cover, so torch exports them (15 s a home); the tests of that export
    (test_fast_cli.py, test_builder.py) make their own."""
    return towers_made(trained_model, tmp_path_factory.mktemp("trained"))


@pytest.fixture
def trained_home(tmp_path, trained_runtime) -> Path:
    """An empty library home holding the trained model's towers (made once a run)."""
    return home_holding(tmp_path, trained_runtime)


@pytest.fixture(scope="session")
def exported_runtime(random_model, tmp_path_factory) -> Path:
    """The tiny model's towers built once for the session, as a first run builds them (the
    builder itself is tested in test_builder.py, test_fast_cli.py and test_switch.py): copied
    into the `library` fixture's home, each test does not build them again."""
    return towers_made(random_model, tmp_path_factory.mktemp("exported"))


@pytest.fixture
def library(tmp_path, random_model, exported_runtime):
    from core.library import Library

    lib = Library(home_holding(tmp_path, exported_runtime), model=random_model)
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def vit_model_spec() -> str:
    """A tiny trained model of a family the tower builder covers (see tests/vit_model.py)."""
    from vit_model import vit_model

    return vit_model()


@pytest.fixture(scope="session")
def trained_model() -> str:
    """A tiny model trained on synthetic pictures (cached; see tests/ranking_model.py)."""
    from ranking_model import ranking_model

    return ranking_model()


@pytest.fixture(scope="session")
def ranked_photos(tmp_path_factory, trained_model):
    """120 freshly drawn pictures (5 per colour x shape, none from training), indexed by the CLI.
    Without the faces-and-text pass (shapes hold neither; those passes have tests of their own),
    which would take four fifths of the time; the window and the app over it leave it off too."""
    from helpers import run_cli
    from ranking_model import CLASSES

    root = tmp_path_factory.mktemp("ranked")
    photos = root / "Pictures"
    truth = {}
    for i in range(5):
        for j, (colour, shape) in enumerate(CLASSES):
            sub = "holiday" if i % 2 else "home"
            # neutral names: ranking must come from the pictures, not from words in file names
            path = make_photo(photos / sub / f"IMG_{i * 100 + j:04d}.jpg", colour, shape,
                              size=(640, 480) if i % 3 else (480, 640), seed=500_000 + 100 * i + j)
            truth[str(path)] = (colour, shape)
    home = root / "home"
    run_cli("index", "--no-faces", str(photos), home=home, model=trained_model)
    return home, photos, truth
