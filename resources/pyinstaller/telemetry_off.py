# PyInstaller runtime hook (build.spec): the frozen app's libraries keep their telemetry off from
# the first line, before any module of the app or of a library is imported. The same variables
# as core.thirdparty.TELEMETRY_OFF (tests/test_architecture.py checks they agree).
import os

os.environ.update({"ORT_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"})
