"""Text in photos, offline: RapidOCR (PaddleOCR's PP-OCRv4 detector and recogniser on ONNX
Runtime; `rapidocr-onnxruntime` ships the models, so nothing is fetched).

Most photos have no text. The detector alone, on a small copy of the picture, decides; only
photos where it finds text get the full read (detection and recognition at a size where small
print is legible)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

CHECK_SIDE = 640  # the cheap look: is there any text at all?
READ_SIDE = 1280  # the full read: signs, receipts, screenshots
MIN_CONFIDENCE = 0.6


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the picture


def _scaled(image: Image.Image, side: int) -> np.ndarray:
    image = image.convert("RGB")
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(image)


class TextReader:
    """One RapidOCR engine (its sessions are not shared between threads: one lock)."""

    VERSION = 1  # recorded with each photo read; a new version re-reads old photos

    def __init__(self, threads: int = 1):
        from .thirdparty import rapidocr

        self._engine = rapidocr()(intra_op_num_threads=threads, inter_op_num_threads=1,
                                print_verbose=False)
        self._lock = threading.Lock()

    def has_text(self, image: Image.Image) -> bool:
        """The detector only, on a small copy: cheap enough to run on every photo."""
        pixels = _scaled(image, CHECK_SIDE)
        with self._lock:
            boxes, _ = self._engine(pixels, use_det=True, use_cls=False, use_rec=False,
                                    det_limit_side_len=CHECK_SIDE, det_limit_type="max")
        return bool(boxes)

    def read(self, image: Image.Image) -> list[TextLine]:
        """Every line of text found, with its place in the picture."""
        pixels = _scaled(image, READ_SIDE)
        h, w = pixels.shape[:2]
        with self._lock:
            found, _ = self._engine(pixels, det_limit_side_len=READ_SIDE, det_limit_type="max")
        lines = []
        for points, text, confidence in found or []:
            text = " ".join(str(text).split())
            if not text or float(confidence) < MIN_CONFIDENCE:
                continue
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            lines.append(TextLine(text, round(float(confidence), 3),
                                  (min(xs) / w, min(ys) / h, max(xs) / w, max(ys) / h)))
        return lines

    def text_of(self, image: Image.Image) -> list[TextLine]:
        """What a photo says: nothing without the full read when the detector sees no text."""
        return self.read(image) if self.has_text(image) else []


class TextEnricher:
    """The text enricher of the second pass (see core.enrich): the lines read in a photo (or
    each of a video's moments), stored with the photo and searchable with its other words."""

    name = "text"
    version = TextReader.VERSION

    def __init__(self, threads: int = 1):
        self._threads = threads
        self._reader: TextReader | None = None

    def load(self) -> None:
        if self._reader is None:
            self._reader = TextReader(self._threads)

    def run(self, image: np.ndarray, media) -> tuple[list, str | None]:
        self.load()
        lines = self._reader.text_of(Image.fromarray(image))
        return [(media.frame, line) for line in lines], None
