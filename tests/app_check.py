"""`make app-check`: the frozen slim bundle, run as a user runs it, on a library with a tiny model
whose towers were exported by this checkout (the bundle has no torch to export them itself).
The command line searches; the app starts offscreen on the library and keeps running.

    python app_check.py DIST_FOLDER"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import ROOT, make_photo, make_random_model

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


def main() -> int:
    dist = Path(sys.argv[1]).resolve()
    cli, app = dist / "snapseek", dist / "snapseek-desktop"
    heavy = [p.name for p in (dist / "_internal").iterdir()
             if p.name.split(".")[0] in ("torch", "torchvision", "open_clip", "triton", "nvidia")]
    assert not heavy, f"the slim bundle holds {heavy}"
    size = sum(p.stat().st_size for p in dist.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"bundle: {size / 1e6:.0f} MB in {dist}")
    with tempfile.TemporaryDirectory(prefix="snapseek-app-check-") as tmp:
        tmp = Path(tmp)
        model = make_random_model(tmp / "model")
        for i in range(12):
            make_photo(tmp / "Pictures" / f"p{i:02d}.jpg", COLOURS[i % 6], seed=i)
        env = {**os.environ, "HOME": str(tmp / "user"), "XDG_CACHE_HOME": str(tmp / "cache"),
               "XDG_CONFIG_HOME": str(tmp / "config"), "HF_HUB_OFFLINE": "1",
               "PYTHONPATH": str(ROOT)}
        home = tmp / "home"
        # this checkout (with torch) indexes and exports both towers into the home
        subprocess.run([sys.executable, "-m", "core.cli", "--home", str(home), "--model", model,
                        "index", "--no-faces", str(tmp / "Pictures")], env=env, check=True)
        env.pop("PYTHONPATH")
        started = time.monotonic()
        found = subprocess.run([str(cli), "--home", str(home), "search", "a red circle",
                                "--json", "-k", "5"], env=env, capture_output=True, text=True,
                               timeout=300)
        assert found.returncode == 0, found.stderr
        results = json.loads(found.stdout)
        assert len(results) == 5, results
        print(f"frozen search: {len(results)} results in {time.monotonic() - started:.1f} s")
        window = subprocess.Popen([str(app), "--home", str(home)],
                                  env={**env, "QT_QPA_PLATFORM": "offscreen"},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            time.sleep(15)  # a smoke check of a separate program: it must still be running
            assert window.poll() is None, window.stdout.read().decode()[-3000:]
            print("frozen app: started offscreen on the library and kept running")
        finally:
            window.terminate()
            window.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
