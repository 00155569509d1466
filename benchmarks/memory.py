"""Resident memory of a process with a library open and its model loaded, per candidate model.

`python -m benchmarks.memory [NAME:TAG ...]`: each model (random weights: memory does not depend
on them) is measured in fresh processes: a library is opened, the model loaded, one text query
and one picture encoded, then VmRSS is read from /proc/self/status. Twice on the same library
home: the first run (the model loaded whole, its towers exported to the faster runtime) and a
reopened library (every later run: what the app holds when idle). Prints JSON.

`python -m benchmarks.memory --app [NAME:TAG]` measures the app itself (the default model when
no name is given): the window, offscreen, on a folder of 24 twelve-megapixel photos, read once
the photos are indexed and the second pass (faces, text) is done and nothing is left to do,
on the first run and on the library opened again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ["ViT-B-32-SigLIP2-256:webli", "ViT-B-16-SigLIP2:webli",
              "ViT-B-32-256:datacomp_s34b_b86k", "ViT-B-32:laion2b_s34b_b79k",
              "MobileCLIP2-S2:dfndr2b", "MobileCLIP2-S0:dfndr2b"]


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def children_rss_mb() -> float:
    """The resident memory of this process's children (the second pass's end with it)."""
    pids = set()
    for task in Path("/proc/self/task").iterdir():
        pids |= set((task / "children").read_text().split())
    total = 0.0
    for pid in pids:
        try:
            total += rss_mb(pid)
        except (OSError, RuntimeError):  # ended meanwhile (a zombie has no VmRSS)
            continue
    return total


def one(spec: str, work: Path) -> dict:
    """In this process: open a library on the model and load it."""
    from PIL import Image

    from core.library import Library

    before = rss_mb()
    lib = Library(work / "home", model=spec)
    emb = lib.load_model()
    emb.encode_text(["a dog on the beach"])
    emb.encode_images([Image.new("RGB", (640, 480), (200, 120, 40))])
    out = {"rss_mb": round(rss_mb()), "python_and_imports_mb": round(before),
           "text_precision": emb.text_precision,
           "image_runtime": getattr(emb, "image_runtime", "torch"),
           "torch_imported": "torch" in sys.modules}
    lib.close()
    return out


def app_idle(spec: str, home: Path, photos: Path) -> dict:
    """In this process: the window on a library watching `photos`, once it has nothing to do."""
    import os
    import time

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from core.library import Library
    from desktop.window.main import MainWindow

    app = QApplication([])
    lib = Library(home, model=spec)
    lib.add_folder(photos)
    window = MainWindow(library=lib)
    window.show()
    window.start()
    deadline, quiet_since, searched = time.monotonic() + 900, None, False
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.05)
        # nothing left: pass 1 idle, pass 2 (faces, text) done, and on a first run the whole
        # torch model let go (Library.lighten) once its towers are exported
        idle = (lib.model_loaded and lib.background is not None
                and lib.background.idle.is_set() and not window.tasks.busy
                and lib.enrich_pending() == 0
                and type(lib.embedder).__name__ == "LightEmbedder")
        quiet_since = (quiet_since or time.monotonic()) if idle else None
        if quiet_since and time.monotonic() - quiet_since > 5:
            if searched:
                break
            # a person searches: the text tower is compiled and stays (the image tower rests)
            window.search.edit.setText("a dog on the beach")
            window.search.edit.returnPressed.emit()
            searched, quiet_since = True, None
    else:
        raise SystemExit("the app did not become idle in 15 minutes")
    out = {"rss_mb": round(rss_mb()), "children_mb": round(children_rss_mb()),
           "photos": lib.status()["indexed_count"],
           "text_tower": getattr(lib.embedder, "_tower", None) is not None,
           "torch_imported": "torch" in sys.modules,
           "image_runtime": getattr(lib.embedder, "image_runtime", "torch"),
           "embedder": type(lib.embedder).__name__}
    window.quit()
    return out


def measure_app(arch: str) -> dict:
    from .data import photo_like_jpeg
    from .first_run import publish_random

    sys.path[:0] = [str(ROOT / "tests")]  # (its tokenizer: one the light path reads, as real)
    with tempfile.TemporaryDirectory(prefix="snapseek-memory-") as tmp:
        publish_random(arch, Path(tmp) / "hub", "bench/model")
        spec = f"local-dir:{Path(tmp) / 'hub' / 'bench' / 'model'}"
        photos = Path(tmp) / "Pictures"
        photos.mkdir()
        for i in range(24):
            photo_like_jpeg(photos / f"IMG_{i:04d}.jpg", seed=i)
        runs = {}
        for run in ("first_run", "reopened"):
            proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--app-one", spec,
                                   str(Path(tmp) / "home"), str(photos)],
                                  capture_output=True, text=True, cwd=ROOT)
            if proc.returncode:
                raise SystemExit(f"{arch}: {proc.stderr.strip().splitlines()[-1]}")
            runs[run] = json.loads(proc.stdout.strip().splitlines()[-1])
        return runs


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:
        print(json.dumps(one(argv[1], Path(argv[2]))))
        return 0
    if argv[:1] == ["--app-one"]:
        print(json.dumps(app_idle(argv[1], Path(argv[2]), Path(argv[3]))))
        return 0
    if argv[:1] == ["--app"]:
        from core.model.embedder import DEFAULT_MODEL

        arch = argv[1] if len(argv) > 1 else DEFAULT_MODEL
        print(json.dumps({arch: measure_app(arch)}, indent=2))
        return 0
    from .first_run import publish_random

    sys.path[:0] = [str(ROOT / "tests")]  # (a tokenizer the light path reads, as real)
    results = {}
    with tempfile.TemporaryDirectory(prefix="snapseek-memory-") as tmp:
        for arch in argv or CANDIDATES:
            name = arch.split(":", 1)[0]
            publish_random(arch, Path(tmp) / "hub", f"bench/{name}")
            spec = f"local-dir:{Path(tmp) / 'hub' / 'bench' / name}"
            work = Path(tmp) / f"work-{name}"
            work.mkdir()
            runs = []
            for _ in ("first run", "reopened"):
                proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--one", spec,
                                       str(work)], capture_output=True, text=True, cwd=ROOT)
                if proc.returncode:
                    raise SystemExit(f"{arch}: {proc.stderr.strip().splitlines()[-1]}")
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            results[arch] = {"first_run": runs[0], "reopened": runs[1]}
            print(arch, results[arch], file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
