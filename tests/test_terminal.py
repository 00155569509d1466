"""The terminal shows the command's own lines: other libraries' warnings (torch's deprecation
warnings on a first run, libtiff's complaints about a damaged TIFF) go to the log file, and to
the terminal too with -v."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from helpers import ROOT, make_photo
from PIL import Image

NOISE = ("Warning", "warnings.warn", "Fax4Decode", "TIFF")


def damaged_fax_tiff(path, seed: int = 0) -> None:
    """A CCITT G4 TIFF with its strip garbled: libtiff writes a line per bad code word to the
    process's stderr from C, beneath Python."""
    bits = np.random.RandomState(seed).rand(200, 300) > 0.5
    Image.fromarray(bits.astype(np.uint8) * 255).convert("1").save(path, compression="group4")
    data = bytearray(path.read_bytes())
    for i in range(200, 600, 7):
        data[i] ^= 0xFF
    path.write_bytes(data)


def snapseek(tmp_path, *args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "core.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_other_libraries_speak_to_the_log_not_the_terminal(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    make_photo(folder / "red.jpg", "red")
    damaged_fax_tiff(folder / "fax.tif")
    home = tmp_path / "home"
    first = snapseek(tmp_path, "--home", str(home), "--model", random_model, "index",
                     "--no-faces", str(folder))
    assert first.returncode == 0, first.stderr
    assert "embedded 2" in first.stdout + first.stderr
    lines = (first.stdout + first.stderr).splitlines()
    assert not [line for line in lines if any(n in line for n in NOISE)], lines
    log = (tmp_path / "cache" / "snapseek" / "snapseek.log").read_text()
    assert "Fax4Decode" in log  # libtiff, from C

    damaged_fax_tiff(folder / "fax-2.tif", seed=1)
    loud = snapseek(tmp_path, "--home", str(home), "--model", random_model, "-v", "index",
                    "--no-faces", str(folder))
    assert loud.returncode == 0, loud.stderr
    assert "Fax4Decode" in loud.stderr


def test_python_warnings_of_other_libraries_go_to_the_log(tmp_path):
    """As torch's deprecation warnings did on a first run (FutureWarning from its tracer)."""
    code = ("from core.terminal import route; import sys; route('-v' in sys.argv); "
            "import warnings; warnings.warn('`torch.jit.trace` is deprecated', FutureWarning)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    quiet = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    log = (tmp_path / "cache" / "snapseek" / "snapseek.log").read_text()
    assert "FutureWarning" in log and "torch.jit.trace" in log
    loud = subprocess.run([sys.executable, "-c", code, "-v"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert "FutureWarning" in loud.stderr


def test_what_c_writes_follows_the_log_across_rotations(tmp_path):
    """The log rotates at its size limit: what C libraries write to the process's stderr goes
    on into the log after two rotations (it went to the old file, then to a deleted one)."""
    code = ("import logging, os; from core import terminal; terminal.LOG_BYTES = 4000; "
            "terminal.route(False); log = logging.getLogger('torch')\n"
            "for i in range(3):\n"
            "    os.write(2, b'from C before rotation %d\\n' % i)\n"
            "    for _ in range(60): log.info('x' * 60)\n"
            "os.write(2, b'from C after the rotations\\n')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    folder = tmp_path / "cache" / "snapseek"
    assert (folder / "snapseek.log.1").exists()  # it did rotate
    assert "from C after the rotations" in (folder / "snapseek.log").read_text()
