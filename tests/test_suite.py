"""The suite itself, as `make test` runs it: a worker that dies ends the run, failed, with the
test it was running named; the run has an outer limit, so nothing can keep it waiting."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from helpers import ROOT


def make_test_command() -> list[str]:
    """The pytest command line `make test` runs (from `make -n`: nothing is run)."""
    out = subprocess.run(["make", "-n", "-s", "test"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60).stdout
    line = next(line for line in out.splitlines() if " -m pytest " in line)
    return shlex.split(line)


def test_make_test_has_an_outer_limit():
    cmd = make_test_command()
    assert "timeout" in cmd and "--kill-after=60" in cmd, cmd


def test_a_dead_worker_fails_the_run_at_once_naming_its_test(tmp_path):
    cmd = make_test_command()
    options = cmd[cmd.index("pytest") + 1:]
    options = [o for o in options if not o.startswith("--durations")]
    (tmp_path / "test_dies.py").write_text(
        "import os\n\ndef test_killed():\n    os._exit(9)  # as the kernel's OOM killer would\n\n"
        "def test_next():\n    pass\n")
    (tmp_path / "test_other.py").write_text("def test_fine():\n    pass\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c",
                           "/dev/null", "--rootdir", str(tmp_path), *options, str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "crashed while running 'test_dies.py::test_killed'" in out, out
    # no worker took its place to run the rest of its file: the run ended there
    assert "1 failed, 1 passed" in out, out


def test_a_run_that_passes_leaves_no_folders_behind(tmp_path):
    """The suite writes libraries of its own (a few GB in all): a passing run removes them, so
    repeated runs cannot fill the disk; a failing test's folder stays to be looked at."""
    cmd = make_test_command()
    options = [o for o in cmd[cmd.index("pytest") + 1:] if not o.startswith("--durations")]
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_writes.py").write_text(
        "import pytest\n\n@pytest.fixture(scope='module')\ndef shared(tmp_path_factory):\n"
        "    return tmp_path_factory.mktemp('shared')\n\n"
        "def test_one(tmp_path, shared):\n    (tmp_path / 'big').write_bytes(b'x' * 1000)\n"
        "    (shared / 'a').write_text('a')\n\n"
        "def test_two(tmp_path):\n    (tmp_path / 'big').write_bytes(b'x' * 1000)\n")
    temp = tmp_path / "temp"
    temp.mkdir()

    def run():
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c",
             str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), *options, str(tests)],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={**{k: v for k, v in os.environ.items() if k != "PYTEST_DEBUG_TEMPROOT"},
                 "TMPDIR": str(temp)})

    proc = run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    left = [p for p in temp.rglob("*") if p.is_file()]
    assert not left, left
    (tests / "test_writes.py").write_text(
        "def test_fails(tmp_path):\n    (tmp_path / 'kept').write_text('look')\n"
        "    assert False\n")
    proc = run()
    assert proc.returncode != 0
    assert [p.name for p in temp.rglob("kept")] == ["kept"]
