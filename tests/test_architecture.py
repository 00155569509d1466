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


def test_openvino_is_imported_only_where_its_telemetry_is_kept_out():
    # core.runtime.openvino() blocks OpenVINO's telemetry (usage events sent to Google
    # Analytics); a plain import elsewhere would bring it back
    pattern = re.compile(r"^\s*(import openvino\b|from openvino\b)", re.M)
    found = {str(p.relative_to(ROOT)) for d in ("core", "desktop", "benchmarks")
             for p in (ROOT / d).rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))}
    assert found == {"core/runtime.py"}
    assert len(pattern.findall((ROOT / "core" / "runtime.py").read_text(encoding="utf-8"))) == 1
