"""Text in photos, offline: RapidOCR (PaddleOCR's PP-OCRv4 detector and recogniser on ONNX
Runtime; `rapidocr-onnxruntime` ships the models, so nothing is fetched).

Most photos have no text. The detector alone, on a small copy of the picture, decides; only
photos where it finds text get the full read (detection and recognition at a size where small
print is legible).

The check runs the detector's network directly, on the 640 px copy as it is, and asks only
whether any pixel is likely text (the threshold from which RapidOCR's own post-processing
grows a box). Through RapidOCR's call the copy was first scaled up to 736 px on its short side
(its `det_limit_*` arguments are read from its configuration only) and boxes were traced: 3-4×
the work for no more text found (docs/PERFORMANCE.md, "Faces and text")."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .pixels import blank

CHECK_SIDE = 640  # the cheap look: is there any text at all?
READ_SIDE = 1280  # the full read: signs, receipts, screenshots
MIN_CONFIDENCE = 0.6
# a pixel the detector thinks this likely to be text: RapidOCR's binarisation threshold, below
# which no box can start
TEXT_PIXEL = 0.3
DETECTOR = "ch_PP-OCRv4_det_infer.onnx"


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
        self._check = detector_session(threads)
        self._lock = threading.Lock()

    def text_likelihood(self, image: Image.Image) -> np.ndarray:
        """The detector's map (0..1 per pixel: is it text?) of a small copy of the picture."""
        pixels = _scaled(image, CHECK_SIDE)
        h, w = pixels.shape[:2]
        size = (max(32, round(w / 32) * 32), max(32, round(h / 32) * 32))  # the network's step
        if size != (w, h):
            pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
        x = (pixels.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        return self._check.run(None, {self._check.get_inputs()[0].name: x})[0][0, 0]

    def has_text(self, image: Image.Image) -> bool:
        """The detector only, on a small copy: cheap enough to run on every photo."""
        return bool((self.text_likelihood(image) > TEXT_PIXEL).any())

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


def detector_session(threads: int = 1):
    """An ONNX Runtime session of the text detector that ships with RapidOCR."""
    from .thirdparty import onnxruntime

    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("rapidocr-onnxruntime is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / DETECTOR
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


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
        if blank(image):
            return [], None
        self.load()
        lines = self._reader.text_of(Image.fromarray(image))
        return [(media.frame, line) for line in lines], None
