"""A tower's weights are resident once: OpenVINO makes its own copy of them, and the tower's
files it keeps mapped are let go (core/model/runtime.py, `settling`); texts of any number
share one layout of the text tower's weights. Measured from /proc/self/smaps in a process of
its own, on SigLIP 2 B/32's full image tower and a 4-layer SigLIP text tower of full width
(random weights)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_builder import SIGLIP_CONFIG, SIGLIP_PREPROCESS, random_model

pytestmark = pytest.mark.skipif(not Path("/proc/self/smaps").exists(),
                                reason="resident memory per mapping is read from Linux's /proc")

ROOT = Path(__file__).resolve().parent.parent
MEASURE = """
import json, sys
from pathlib import Path
from PIL import Image
sys.path.insert(0, sys.argv[3])
from core.model.builder import build
from core.model.exported import open_light

folder, runtime = Path(sys.argv[1]), Path(sys.argv[2])

def mapped(under):
    \"\"\"MB resident of this process's mappings of files under `under`, and anonymous MB.\"\"\"
    files = anon = 0
    name = None
    for line in open("/proc/self/smaps"):
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
            name = parts[5] if len(parts) > 5 else ""
        elif parts[0] == "Rss:":
            if name.startswith(str(under)):
                files += int(parts[1])
        elif parts[0] == "Anonymous:":
            anon += int(parts[1])
    return files / 1024, anon / 1024

spec = f"local-dir:{folder}"
build(spec, folder, runtime, check=False)
light = open_light(spec, runtime, 2, lambda: sys.exit("the full model was loaded"))
out = {}
light.encode_text(["a photo of a dog"])
out["one_text"] = mapped(runtime)
light.encode_text(["a photo of a dog", "zwei Katzen", "un gato"])
out["three_texts"] = mapped(runtime)
light.encode_images([Image.new("RGB", (640, 480), (200, 120, 40))] * 4)
out["images"] = mapped(runtime)
# answered again: what the towers compute with stays, and nothing comes back from the files
light.encode_text(["eine Katze auf dem Sofa"])
light.encode_images([Image.new("RGB", (480, 640), (40, 120, 200))] * 3)
out["again"] = mapped(runtime)
out["no_text"] = list(light.encode_text([]).shape)
out["tower_files_mb"] = sum(p.stat().st_size for p in runtime.rglob("*.bin")) / 2**20
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("tower-memory")
    config = json.loads(json.dumps(SIGLIP_CONFIG))
    config["text_cfg"]["layers"] = 4  # 4 x 7.1 M weights of full width: 113 MB in fp32
    random_model(tmp / "model", config, SIGLIP_PREPROCESS)
    from hf_tokenizer import gemma_like
    from test_tokenizers import texts

    gemma_like(tmp / "model", texts(), vocab=1000)
    done = subprocess.run([sys.executable, "-c", MEASURE, str(tmp / "model"), str(tmp / "runtime"),
                           str(ROOT)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_towers_files_are_not_kept_resident_beside_their_copy(measured):
    """Without settling, the image tower's file (350 MB) stayed resident after its first
    answer, beside OpenVINO's copy."""
    assert measured["tower_files_mb"] > 300  # the image tower's weights are in those files
    for step in ("one_text", "three_texts", "images", "again"):
        files_mb, _ = measured[step]
        assert files_mb < 8, (step, measured)


def test_several_texts_do_not_lay_the_text_towers_weights_out_twice(measured):
    """A batch of several texts made OpenVINO lay the text tower's weights out anew: about
    another 113 MB here (330 MB for SigLIP 2's own text tower)."""
    grew = measured["three_texts"][1] - measured["one_text"][1]
    assert grew < 30, measured
    assert measured["no_text"] == [0, SIGLIP_CONFIG["embed_dim"]]  # no text: no rows, its width
