"""The layering contract: core never imports Qt or desktop (import-linter, plus a runtime check)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_imports_without_qt_or_torch():
    code = ("import sys, core.library, core.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'desktop', 'torch')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# core.thirdparty is the one way in to libraries that phone home: it turns their telemetry off
# first (OpenVINO's usage events to Google Analytics, ONNX Runtime's to Microsoft). A plain
# import anywhere else could come first and bring it back.
PHONES_HOME = re.compile(r"^\s*(import|from)\s+(openvino|onnxruntime|rapidocr_onnxruntime)\b", re.M)


def test_libraries_that_phone_home_are_imported_only_through_thirdparty():
    found = {str(p.relative_to(ROOT)): len(PHONES_HOME.findall(p.read_text(encoding="utf-8")))
             for d in ("core", "desktop", "benchmarks") for p in (ROOT / d).rglob("*.py")
             if PHONES_HOME.search(p.read_text(encoding="utf-8"))}
    assert set(found) == {"core/thirdparty.py"}, found


def test_the_core_turns_telemetry_off_when_imported():
    code = ("import os; os.environ['ORT_DISABLE_TELEMETRY'] = '0'; import core; "
            "from core.thirdparty import TELEMETRY_OFF; "
            "print(all(os.environ.get(k) == v for k, v in TELEMETRY_OFF.items()))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip() == "True", proc.stdout + proc.stderr


def test_the_frozen_app_turns_the_same_telemetry_off_first():
    from core.thirdparty import TELEMETRY_OFF

    hook = ROOT / "resources" / "pyinstaller" / "telemetry_off.py"
    env: dict = {}
    exec(compile(hook.read_text(encoding="utf-8").replace("os.environ.update", "env.update"),
                 str(hook), "exec"), {"os": None, "env": env})
    assert env == TELEMETRY_OFF
    assert '"resources/pyinstaller/telemetry_off.py"' in (ROOT / "build.spec").read_text()


LIGHT_SESSION = """
import json, sys
from pathlib import Path
from core.library import Library
from core.types import Query

home, pictures, spec = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
with Library(home, model=spec) as lib:
    lib.add_folder(pictures)
    lib.update()
    lib.enrich()
    found = lib.search(Query.text("platform", k=3))
    lib.search(Query.image(next(pictures.glob("*.jpg")), k=3))
    grid = lib.explain(found[0].media_id, Query.text("a red circle"))["grid"]
    people, text = lib.people(), lib.photo_text(found[0].media_id)
    heavy = [m for m in ("torch", "open_clip", "torchvision", "transformers") if m in sys.modules]
    print(json.dumps({"heavy": heavy, "people": len(people), "grid": len(grid),
                      "full": lib.embedder.full_loaded, "found": found[0].path,
                      "indexed": lib.status()["indexed_count"], "text": text}))
"""


def test_a_library_with_exported_towers_never_imports_torch(tmp_path, random_model):
    """Indexing (both passes: faces, text in pictures), searching by text and by picture,
    explaining and people, all from the towers exported once before: no torch, no open_clip."""
    import json

    from helpers import make_photo
    from test_ocr import sign
    from test_people import write_people

    from core.model.embedder import Embedder

    home, pictures = tmp_path / "home", tmp_path / "Pictures"
    truth = write_people(pictures)
    sign(["PLATFORM 9"], size=(1200, 800)).save(pictures / "sign.jpg")
    make_photo(pictures / "red.jpg", "red", "circle")
    exporter = Embedder.load(random_model, device="cpu", runtime_cache=home / "runtime",
                             light=False)
    exporter.encode_images([sign(["X"], size=(64, 48))])  # the image tower's export
    done = subprocess.run([sys.executable, "-c", LIGHT_SESSION, str(home), str(pictures),
                           random_model], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["heavy"] == [] and got["full"] is False, got
    assert got["indexed"] == len(truth) + 2 and got["people"] == 2 and got["grid"] > 0
    assert got["found"].endswith("sign.jpg") and "PLATFORM" in " ".join(got["text"]).upper()


WITHOUT_TORCH = ("import sys; sys.modules['torch'] = None; sys.modules['open_clip'] = None; "
                 "from core.cli import main; sys.exit(main(sys.argv[1:]))")


def test_without_torch_a_model_of_a_covered_family_is_built_and_indexes(tmp_path, random_model):
    """The slim app (no torch, no open_clip) on a model whose towers were never made: it builds
    them from the weights file."""
    from helpers import make_photo

    make_photo(tmp_path / "Pictures" / "red.jpg", "red")
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, "--home", str(tmp_path / "home"),
                           "--model", random_model, "index", "--no-faces",
                           str(tmp_path / "Pictures")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "embedded 1" in proc.stdout


def test_without_torch_a_model_that_needs_it_is_one_line(tmp_path, trained_model):
    """The slim app on a model of a family the builder does not cover (a ResNet image tower)."""
    from helpers import make_photo

    make_photo(tmp_path / "Pictures" / "red.jpg", "red")
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, "--home", str(tmp_path / "home"),
                           "--model", trained_model, "index", str(tmp_path / "Pictures")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs the full installation" in lines[0], proc.stderr
    assert "its image tower is a ResNet" in lines[0]
