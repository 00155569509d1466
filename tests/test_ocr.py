"""Text in photos, read by the real OCR models that ship in rapidocr-onnxruntime."""

from __future__ import annotations

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
    from core.ocr import TextReader

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
    monkeypatch.setattr(reader, "read", lambda image: reads.append(image) or [])
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
    the read through the pass gives those lines."""
    from benchmarks.enrichset import make_photos

    from core.enrich import MediaRef, decode
    from core.ocr import TextEnricher

    made = make_photos(tmp_path, 16)
    enricher = TextEnricher()
    checked = 0
    for i, put in enumerate(made):
        if not put.get("text") and put["base"] not in ("page", "text", "logo"):
            continue
        picture = decode(str(tmp_path / f"IMG_{i:04d}.jpg"))
        lines = reader.read(Image.fromarray(picture))
        if lines:
            checked += 1
            assert reader.has_text(Image.fromarray(picture)), put
            got = [line.text for _, line in enricher.run(picture, MediaRef(i, "x", "photo"))[0]]
            assert got == [line.text for line in lines]
    assert checked >= 3
