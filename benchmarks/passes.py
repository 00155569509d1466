"""The second pass of this checkout against the same pass of other checkouts (an older commit in
a git worktree), on the same photos, taking turns: how a change moved its speed, measured side by
side on one machine.

    PYTHONPATH=. .venv/bin/python -m benchmarks.passes OTHER_CHECKOUT... [--photos 48] [--rounds 2]

Each run is a fresh process of that checkout's code (`--one ROOT PHOTOS`): a library of the tests'
tiny random model on benchmarks/enrichset.py's photos (made once, by this checkout), its first
pass, then `Library.enrich()` alone, timed: photos/s in all (the children's start counted),
photos/s after the first 8 are stored (steady), the CPU time of the process and its children per
photo, and the faces and lines it found."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(root: Path, photos: Path) -> dict:
    """The pass of the code at `root` (already first on sys.path) on `photos`."""
    from helpers import make_random_model

    from core.library import Library

    def cpu() -> float:
        mine, theirs = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
        return mine.ru_utime + mine.ru_stime + theirs.ru_utime + theirs.ru_stime

    with tempfile.TemporaryDirectory(prefix="snapseek-passes-") as tmp:
        lib = Library(Path(tmp) / "home", model=make_random_model(Path(tmp) / "tiny-model"))
        lib.faces_enabled = lib.text_enabled = True
        lib.add_folder(photos)
        lib.update()
        stamps: list[tuple[float, int]] = []
        spent, started = cpu(), time.perf_counter()
        done, failed, _ = lib.enrich(on_progress=lambda p: stamps.append(
            (time.perf_counter(), p.done)))
        seconds = time.perf_counter() - started
        ids = [lib.media_id_of(str(path)) for path in sorted(photos.glob("*.jpg"))]
        faces = sum(map(len, lib.catalog.faces_seen(ids).values()))
        lines = sum(len(lib.photo_text(i)) for i in ids)
        lib.close()  # (its children end: their CPU time is counted)
        time.sleep(0.5)
        spent = cpu() - spent
    after = [t for t, n in stamps if n >= 8]
    return {"photos": done, "failed": failed, "photos_per_s": round(done / seconds, 2),
            "steady_photos_per_s": round((done - 8) / (stamps[-1][0] - after[0]), 2)
            if after and stamps[-1][0] > after[0] else None,
            "cpu_ms_per_photo": round(spent / max(done, 1) * 1000),
            "faces": faces, "lines": lines}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        root, photos = Path(argv[1]), Path(argv[2])
        sys.path[:1] = [str(root), str(root / "tests")]  # (not this file's folder)
        os.chdir(root)
        print(json.dumps(one(root, photos)))
        return 0
    n = int(argv[argv.index("--photos") + 1]) if "--photos" in argv else 48
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 2
    skip = {argv.index(o) + 1 for o in ("--photos", "--rounds") if o in argv}
    others = [Path(a).resolve() for i, a in enumerate(argv) if not a.startswith("--")
              and i not in skip]
    from benchmarks.enrichset import make_photos

    with tempfile.TemporaryDirectory(prefix="snapseek-passes-photos-") as tmp:
        photos = Path(tmp)
        make_photos(photos, n)
        print(f"{n} photos of benchmarks/enrichset.py; Library.enrich alone, in turns")
        print("| code | photos/s | steady (after 8) | CPU ms/photo | faces | lines |\n"
              "|---|---|---|---|---|---|")
        for _ in range(rounds):
            for root in [*others, ROOT]:
                # this file, run as a script with the other checkout's code first on the path
                out = subprocess.run([sys.executable, __file__, "--one", str(root), str(photos)],
                                     cwd=root, capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONPATH": str(root)})
                x = json.loads(out.stdout.strip().splitlines()[-1])
                name = "this checkout" if root == ROOT else root.name
                print(f"| {name} | {x['photos_per_s']} | {x['steady_photos_per_s']} | "
                      f"{x['cpu_ms_per_photo']} | {x['faces']} | {x['lines']} |", flush=True)
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
