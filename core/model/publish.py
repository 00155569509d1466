"""Our export of a model's towers made ready to publish beside its weights, and the entry that
pins it in core/model/offered.py (each file's URL, size and sha256).

    python -m core.model.publish NAME:TAG OUT_FOLDER BASE_URL

loads the model whole (torch), exports both towers as a first run does, checks them against
torch fp32 (core/model/exported.py, core/model/runtime.py), and writes the files and the entry."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from core.files import atomic_path
from core.model.download import sha256_of
from core.model.exported import manifest_path
from core.model.offered import PinnedExport, PinnedFile


def publish(runtime: Path, spec: str, out: Path, base_url: str) -> PinnedExport:
    """Copy the export of `spec` found in `runtime` to `out`, its manifest tied to no weights
    file of this machine; the entry that pins the copies at `base_url`."""
    source = manifest_path(runtime, spec)
    manifest = json.loads(source.read_text(encoding="utf-8"))
    if not manifest.get("image_xml"):
        raise ValueError(f"the export of {spec} in {runtime} lacks its image tower")
    xmls = [manifest["xml"], manifest["image_xml"]]
    names = [n for x in xmls for n in (x, str(Path(x).with_suffix(".bin")))]
    names += [manifest["tokenizer"]] + ([manifest["embed"]] if manifest.get("embed") else [])
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(runtime / name, out / name)
    manifest.update(weights=None, pinned=True)  # the exporter's path means nothing elsewhere
    with atomic_path(out / source.name) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    base = base_url.rstrip("/")
    files = [PinnedFile(n, f"{base}/{n}", (out / n).stat().st_size, sha256_of(out / n))
             for n in names + [source.name]]  # the manifest last
    return PinnedExport(manifest["spec"], tuple(files))


def export_and_publish(spec: str, out: Path, base_url: str) -> PinnedExport:
    """Load `spec` whole, export both towers, and publish them (see publish)."""
    from PIL import Image

    from core.model.embedder import Embedder

    with tempfile.TemporaryDirectory() as tmp:
        emb = Embedder.load(spec, device="cpu", runtime_cache=Path(tmp), light=False)
        emb.encode_images([Image.new("RGB", (64, 48), (120, 80, 40))])  # the image tower's
        return publish(Path(tmp), emb.spec, out, base_url)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    pinned = export_and_publish(argv[0], Path(argv[1]), argv[2])
    print(f"{pinned.spec!r}: {pinned!r},")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
