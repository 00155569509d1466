"""Names in the files: XMP face regions as exiftool writes them (MWG's and Microsoft's, in
both the long and the shorthand RDF), from the file and from an .xmp sidecar, with the photo's
orientation applied; read, never written."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from core.media.regions import Region, read_regions, regions_in_xmp

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None,
                                    reason="exiftool is not installed (libimage-exiftool-perl)")


def exiftool(path: Path, *args: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(path)], check=True,
                   capture_output=True)


def mwg(size: tuple[int, int], *faces: tuple[str, float, float, float, float]) -> str:
    """exiftool's argument for MWG regions: (name, centre x, centre y, w, h) each."""
    regions = ",".join(f"{{Area={{X={x},Y={y},W={w},H={h},Unit=normalized}},Name={name},Type=Face}}"
                       for name, x, y, w, h in faces)
    return (f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={size[0]},H={size[1]},"
            f"Unit=pixel}},RegionList=[{regions}]}}")


def microsoft(*faces: tuple[str, float, float, float, float]) -> str:
    """exiftool's argument for Microsoft's regions: (name, left, top, w, h) each."""
    regions = ",".join(f"{{PersonDisplayName={name},Rectangle={x}|, {y}|, {w}|, {h}}}"
                       for name, x, y, w, h in faces)
    return f"-XMP-MP:RegionInfoMP={{Regions=[{regions}]}}"


def photo(path: Path, size=(640, 480), orientation: int | None = None) -> Path:
    im = Image.new("RGB", size, "white")
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    im.save(path, quality=90, exif=exif.tobytes())
    return path


def boxes(regions: list[Region]) -> dict[str, tuple]:
    return {r.name: tuple(round(v, 3) for v in r.box) for r in regions}


@needs_exiftool
@pytest.mark.parametrize("compact", [False, True])
def test_mwg_and_microsoft_regions_are_read_from_the_file(tmp_path, compact):
    path = photo(tmp_path / "party.jpg")
    before = path.read_bytes()
    exiftool(path, *(["-api", "Compact=Shorthand"] if compact else []),
             mwg((640, 480), ("Anna", 0.4, 0.5, 0.2, 0.3), ("Ben Smith", 0.8, 0.2, 0.1, 0.1)),
             microsoft(("Carl", 0.1, 0.2, 0.3, 0.4)))
    written = path.read_bytes()
    found = read_regions(path)
    assert boxes(found) == {"Anna": (0.3, 0.35, 0.5, 0.65), "Ben Smith": (0.75, 0.15, 0.85, 0.25),
                            "Carl": (0.1, 0.2, 0.4, 0.6)}
    assert {r.name: r.source for r in found} == {"Anna": "mwg", "Ben Smith": "mwg",
                                                  "Carl": "microsoft"}
    assert path.read_bytes() == written != before  # read, never written


@needs_exiftool
def test_a_face_both_schemas_name_is_named_once(tmp_path):
    path = photo(tmp_path / "both.jpg")
    exiftool(path, mwg((640, 480), ("Anna", 0.4, 0.5, 0.2, 0.3)),
             microsoft(("anna", 0.3, 0.35, 0.2, 0.3)))
    assert [(r.name, r.source) for r in read_regions(path)] == [("Anna", "mwg")]


@needs_exiftool
@pytest.mark.parametrize("orientation, upright", [
    (1, (0.1, 0.2, 0.3, 0.6)),
    (3, (0.7, 0.4, 0.9, 0.8)),  # turned half round
    (6, (0.4, 0.1, 0.8, 0.3)),  # stored on its side, turned a quarter clockwise to stand
    (8, (0.2, 0.7, 0.6, 0.9)),
])
def test_the_orientation_turns_the_regions_with_the_picture(tmp_path, orientation, upright):
    path = photo(tmp_path / "turned.jpg", orientation=orientation)
    exiftool(path, mwg((640, 480), ("Anna", 0.2, 0.4, 0.2, 0.4)),
             microsoft(("Ben", 0.1, 0.2, 0.2, 0.4)))
    found = boxes(read_regions(path))
    assert found == {"Anna": upright, "Ben": upright}
    # the box lands where the face is once the decoder has turned the pixels
    from PIL import ImageOps

    stored = Image.new("L", (640, 480), 0)
    stored.paste(255, (64, 96, 192, 288))  # the region, in the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "mask.png", exif=exif.tobytes())
    with Image.open(tmp_path / "mask.png") as im:
        turned = ImageOps.exif_transpose(im)
    left, top, right, bottom = upright
    inside = turned.crop((round(left * turned.width) + 2, round(top * turned.height) + 2,
                          round(right * turned.width) - 2, round(bottom * turned.height) - 2))
    assert inside.getextrema() == (255, 255)


@needs_exiftool
def test_a_region_written_on_the_upright_picture_is_not_turned_again(tmp_path):
    path = photo(tmp_path / "portrait.jpg", orientation=6)  # stored 640x480, seen 480x640
    exiftool(path, mwg((480, 640), ("Anna", 0.5, 0.25, 0.2, 0.1)))
    assert boxes(read_regions(path)) == {"Anna": (0.4, 0.2, 0.6, 0.3)}


@needs_exiftool
@pytest.mark.parametrize("name", ["{}.xmp", "{stem}.xmp", "{stem}.XMP"])
def test_regions_in_a_sidecar_are_read(tmp_path, name):
    raw = tmp_path / "IMG_1.CR2"
    raw.write_bytes(b"not a picture Pillow opens")  # a RAW: its sidecar names the faces
    jpeg = photo(tmp_path / "IMG_2.jpg")
    for path in (raw, jpeg):
        sidecar = tmp_path / name.format(path.name, stem=path.stem)
        exiftool(sidecar, mwg((640, 480), ("Anna", 0.5, 0.5, 0.2, 0.2)))  # made from nothing
        assert boxes(read_regions(path)) == {"Anna": (0.4, 0.4, 0.6, 0.6)}
        sidecar.unlink()


def test_a_hand_written_sidecar_in_digikams_form(tmp_path):
    """digiKam (Exiv2) writes the structures as nested descriptions and attributes."""
    path = photo(tmp_path / "dk.jpg")
    (tmp_path / "dk.jpg.xmp").write_text("""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="640" stDim:h="480" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Zoë Ångström" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.25" stArea:y="0.5" stArea:w="0.1" stArea:h="0.2"
          stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Rex" mwg-rs:Type="Pet">
        <mwg-rs:Area stArea:x="0.7" stArea:y="0.5" stArea:w="0.1" stArea:h="0.2"
          stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
      <rdf:li>
       <rdf:Description mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.5" stArea:y="0.5" stArea:w="0.1" stArea:h="0.2"
          stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>""", encoding="utf-8")
    # a pet and a face with no name name no one
    assert boxes(read_regions(path)) == {"Zoë Ångström": (0.2, 0.4, 0.3, 0.6)}


@pytest.mark.parametrize("packet", [
    b"",
    b"<x:xmpmeta><rdf:RDF",  # cut short
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'>]><x:xmpmeta/>",
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='"
    b"http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmlns:mwg-rs='"
    b"http://www.metadataworkinggroup.com/schemas/regions/' mwg-rs:Regions='text'/>"
    b"</rdf:RDF></x:xmpmeta>",
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='"
    b"http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmlns:MP='"
    b"http://ns.microsoft.com/photo/1.2/' xmlns:MPRI='http://ns.microsoft.com/photo/1.2/t/"
    b"RegionInfo#' xmlns:MPReg='http://ns.microsoft.com/photo/1.2/t/Region#'><MP:RegionInfo "
    b"rdf:parseType='Resource'><MPRI:Regions><rdf:Bag><rdf:li MPReg:PersonDisplayName='A' "
    b"MPReg:Rectangle='nan, x, 1'/><rdf:li MPReg:PersonDisplayName='B' "
    b"MPReg:Rectangle='2, 2, 0.1, 0.1'/></rdf:Bag></MPRI:Regions></MP:RegionInfo>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>",
])
def test_broken_regions_name_no_one(packet):
    assert regions_in_xmp(packet, 6, (640, 480)) == []


def test_a_file_that_is_no_picture_and_has_no_sidecar_names_no_one(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8 not really")
    assert read_regions(path) == []
    assert read_regions(tmp_path / "gone.jpg") == []
