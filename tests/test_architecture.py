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
    assert found == {"core/thirdparty.py": 3}, found


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
