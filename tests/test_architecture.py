"""The layering contract: core never imports Qt or desktop (import-linter, plus a runtime check)."""

import subprocess
import sys


def test_core_imports_without_qt_or_torch():
    code = ("import sys, core.library, core.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'desktop', 'torch')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
