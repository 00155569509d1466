"""Text in photos, read by the real OCR models that ship in rapidocr-onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

pytest.importorskip("rapidocr_onnxruntime", reason="needs rapidocr-onnxruntime (a dependency)")


def sign(lines: list[str], size=(2400, 1600), seed_colour=(96, 130, 90)) -> Image.Image:
    """A photo of a painted sign: dark letters on a light board in a green scene."""
    picture = Image.new("RGB", size, seed_colour)
    draw = ImageDraw.Draw(picture)
    w, h = size
    draw.rectangle([w * 0.15, h * 0.25, w * 0.85, h * 0.75], fill=(246, 244, 236))
    font = ImageFont.load_default(size=int(h * 0.09))
    for i, line in enumerate(lines):
        draw.text((w * 0.2, h * (0.32 + 0.15 * i)), line, fill=(25, 25, 30), font=font)
    return picture


@pytest.fixture(scope="module")
def reader():
    from core.text.ocr import TextReader

    return TextReader(threads=2)


def test_words_on_a_sign_are_read(reader):
    lines = reader.text_of(sign(["INVOICE 4471", "PLATFORM 9"]))
    texts = [line.text.replace(" ", "") for line in lines]  # a space may go missing
    assert "INVOICE4471" in texts and "PLATFORM9" in texts, texts
    for line in lines:
        x0, y0, x1, y1 = line.box
        assert 0.1 <= x0 < x1 <= 0.9 and 0.2 <= y0 < y1 <= 0.8  # on the board


def test_a_photo_without_text_skips_the_full_read(reader, monkeypatch):
    from helpers import draw_photo

    reads = []
    monkeypatch.setattr(reader, "read", lambda image, likelihood=None: reads.append(image) or [])
    assert reader.text_of(draw_photo("blue", "circle", (1600, 1200), seed=5)) == []
    assert reads == []  # the cheap detector said no
    reader.text_of(sign(["EXIT"]))
    assert len(reads) == 1


def test_real_photos_without_text_read_nothing(reader):
    from skimage import data

    for picture in (data.chelsea(), data.coffee()):
        assert reader.text_of(Image.fromarray(picture)) == []


def test_the_check_keeps_every_photo_with_text_of_the_bench_set(reader, tmp_path):
    """The bench's photos (real pictures at 12 MP, signs and small labels drawn on some, a
    scanned page): every photo in which the full read finds a line passes the cheap check, and
    the pass (which reads only where the check lit up) reads each of those lines, spaces aside
    (the recogniser may hear a gap between "CHANGE" and "7.20" in one crop and not the other).
    Lines the whole read found where the check saw nothing are not text: stars on a flag read
    as "★★", a pen stroke as "YY" in this set."""
    from benchmarks.enrichset import make_photos
    from core.folders.enrich import MediaRef, decode
    from core.text.ocr import TEXT_PIXEL, TextEnricher

    made = make_photos(tmp_path, 16)
    enricher = TextEnricher()
    checked = dark = 0
    for i, put in enumerate(made):
        if not put.get("text") and put["base"] not in ("page", "text", "logo"):
            continue
        picture = decode(str(tmp_path / f"IMG_{i:04d}.jpg"))
        lines = reader.read(Image.fromarray(picture))
        if not lines:
            continue
        checked += 1
        likelihood = reader.text_likelihood(Image.fromarray(picture))
        assert (likelihood > TEXT_PIXEL).any(), put
        got = {line.text.replace(" ", "")
               for _, line in enricher.run(picture, MediaRef(i, "x", "photo"))[0]}
        h, w = likelihood.shape
        for line in lines:
            x0, y0, x1, y1 = line.box
            lit = likelihood[int(y0 * h):int(np.ceil(y1 * h)) + 1,
                             int(x0 * w):int(np.ceil(x1 * w)) + 1].max() > TEXT_PIXEL
            if lit or put.get("text"):  # drawn signs and labels are always read
                assert line.text.replace(" ", "") in got, (put, line, got)
            else:
                dark += 1
    assert checked >= 3 and dark <= 2


def test_openvino_runs_the_networks_as_onnx_runtime_does(reader):
    """The same ONNX files on both runtimes: the same detector map on a real picture and the
    same recogniser scores, to float rounding (1e-4; measured: 4e-6 at most)."""
    from skimage import data

    from core.text.ocr import DETECTOR, RECOGNISER, models_folder, ocr_network
    from core.thirdparty import onnxruntime

    ort = onnxruntime()
    session = ort.InferenceSession(str(models_folder() / DETECTOR),
                                   providers=["CPUExecutionProvider"])
    x = (data.astronaut()[:480, :480].astype(np.float32) / 127.5 - 1).transpose(2, 0, 1)[None]
    theirs = session.run(None, {session.get_inputs()[0].name: x})[0]
    ours = reader._detector(x)[0]
    assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-4
    # the recogniser: the same scores for a batch of lines, and the alphabet, read from the
    # file's metadata as ONNX Runtime reads it
    theirs = ort.InferenceSession(str(models_folder() / RECOGNISER),
                                  providers=["CPUExecutionProvider"])
    ours = ocr_network(RECOGNISER)
    lines = np.random.default_rng(3).random((4, 3, 48, 320), np.float32) * 2 - 1
    scores = theirs.run(None, {theirs.get_inputs()[0].name: lines})[0]
    assert np.abs(ours(lines)[0] - scores).max() < 1e-4
    alphabet = theirs.get_modelmeta().custom_metadata_map["character"].splitlines()
    assert ours.get_character_list() == alphabet and len(alphabet) > 6000


def test_lit_parts_are_small_copies_regions_with_a_margin_on_the_grid():
    from core.text.ocr import MARGIN, STEP, lit_parts

    spot = np.zeros((30, 40), np.float32)  # a map at a twentieth of 600 × 800
    spot[10:12, 5:9] = 0.9
    parts = lit_parts(spot, (600, 800))
    assert len(parts) == 1
    y0, y1, x0, x1 = parts[0]
    assert all(v % STEP == 0 for v in (y0, x0)) and y0 <= 200 - MARGIN and y1 >= 240 + MARGIN
    assert x0 <= 100 - MARGIN and x1 >= 180 + MARGIN and (y1 - y0) * (x1 - x0) < 600 * 800 / 8
    spot[20:22, 30:34] = 0.9  # a second, far away: its own part
    assert len(lit_parts(spot, (600, 800))) == 2
    spot[11:21, 8:31] = 0.5  # joined to the first: one part over both
    assert len(lit_parts(spot, (600, 800))) == 1
    assert lit_parts(np.full((30, 40), 0.9, np.float32), (600, 800)) is None  # all lit: all
    assert lit_parts(np.zeros((30, 40), np.float32), (600, 800)) == []


def test_the_full_read_looks_only_where_the_check_lit_up(reader, monkeypatch):
    """A small sign in a large green scene: the detector sees a fraction of the picture and the
    lines are those of the whole picture's read."""
    picture = Image.new("RGB", (2400, 1800), (96, 130, 90))
    picture.paste(sign(["OPEN 24H"], size=(700, 350)), (1500, 1200))
    whole = [line.text for line in reader.read(picture)]
    assert reader._regions.looked_at == 1.0
    seen = []
    network = reader._regions.network
    monkeypatch.setattr(reader._regions, "network",
                        lambda x: seen.append(x.shape[2] * x.shape[3]) or network(x))
    got = [line.text for line in reader.text_of(picture)]
    assert got == whole and any("OPEN" in t for t in got), (got, whole)
    assert seen and sum(seen) < 0.25 * 1280 * 960, seen
    assert reader._regions.looked_at == pytest.approx(sum(seen) / (1280 * 960))


def test_a_screenshot_full_of_small_text_is_read(reader):
    """Dense small print over most of the picture (a screenshot of a settings page): the check
    lights up its two columns and the read finds every row."""
    shot = Image.new("RGB", (1920, 1080), (250, 250, 250))
    draw = ImageDraw.Draw(shot)
    font = ImageFont.load_default(size=22)
    for row in range(24):
        draw.text((40, 20 + row * 44), f"Setting {row + 1}: backup folder enabled",
                  fill=(20, 20, 20), font=font)
        draw.text((1000, 20 + row * 44), f"Value {row * 7 + 3}", fill=(20, 20, 20), font=font)
    words = " ".join(line.text for line in reader.text_of(shot)).replace(" ", "").lower()
    assert words.count("backupfolder") >= 20 and "value164" in words, words[:400]


def test_reading_text_never_loads_onnx_runtime(tmp_path):
    """RapidOCR's networks run on OpenVINO: ONNX Runtime (37 MB of the app, and a telemetry
    of its own) is never imported, the alphabet is read from the recogniser's file."""
    import subprocess
    import sys

    from helpers import ROOT

    sign(["EXIT 12"]).save(tmp_path / "sign.jpg")
    code = ("import sys; from PIL import Image; from core.text.ocr import TextReader; "
            f"lines = TextReader(1).text_of(Image.open({str(tmp_path / 'sign.jpg')!r})); "
            "assert any('EXIT' in line.text for line in lines), lines; "
            "assert 'onnxruntime' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)


def test_rapidocr_as_it_comes_stays_on_onnx_runtime_beside_readers():
    """The bench's baseline builds RapidOCR as it comes in the same process as the app's readers:
    each gets its own runtime, in either order."""
    import subprocess
    import sys

    from helpers import ROOT

    code = ("from core.text.ocr import TextReader; from core.thirdparty import rapidocr; "
            "kind = lambda e: type(e.text_det.infer).__name__; "
            "first = TextReader(1); plain = rapidocr(print_verbose=False); "
            "again = TextReader(1); plain2 = rapidocr(print_verbose=False); "
            "assert type(first._detector).__name__ == type(again._detector).__name__ "
            "== 'OcrNetwork'; assert kind(plain) == kind(plain2) == 'OrtInferSession', "
            "(kind(plain), kind(plain2)); "
            "assert type(plain.text_rec.session).__name__ == 'OrtInferSession'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
