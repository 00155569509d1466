"""Text in photos, offline: RapidOCR (PaddleOCR's PP-OCRv4 detector and recogniser;
`rapidocr-onnxruntime` ships the models, so nothing is fetched), its networks run by OpenVINO
(1.3-1.9× ONNX Runtime's speed on the same ONNX files here, the same outputs to 4e-6; RapidOCR
keeps its own steps around them: resizing, boxes, crops, the angle check, decoding). ONNX
Runtime itself is never loaded: 37 MB less in the app, and nothing of its telemetry.

Most photos have no text. The detector alone, on a small copy of the picture, decides; only
photos where it finds text get the full read (detection and recognition at a size where small
print is legible), and the full read's detector looks only where the small copy's map lit up
(with a margin, in tiles on the network's 32 px grid): a sign on a wall costs the sign's share
of the picture, not the whole picture. Where the lit parts cover most of it, it looks at all.

The check runs the detector's network directly, on the 640 px copy as it is, and asks only
whether any pixel is likely text (the threshold from which RapidOCR's own post-processing
grows a box). Through RapidOCR's call the copy was first scaled up to 736 px on its short side
(its `det_limit_*` arguments are read from its configuration only) and boxes were traced: 3-4×
the work for no more text found (docs/PERFORMANCE.md, "Faces and text")."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.media.pixels import blank
from core.paths import package_folder

CHECK_SIDE = 640  # the cheap look: is there any text at all?
READ_SIDE = 1280  # the full read: signs, receipts, screenshots
MIN_CONFIDENCE = 0.6
# a pixel the detector thinks this likely to be text: RapidOCR's binarisation threshold, below
# which no box can start
TEXT_PIXEL = 0.3
DETECTOR = "ch_PP-OCRv4_det_infer.onnx"  # the files RapidOCR's configuration names
RECOGNISER = "ch_PP-OCRv4_rec_infer.onnx"
# around each lit part of the check's map, at the full read's size: the network sees a text's
# surroundings as it would in the whole picture (the maps agree there; tests/test_ocr.py)
MARGIN = 64
STEP = 32  # the detector's input is a multiple of this on each side
# lit parts covering more than this share of the picture, or more parts than this: look at all
WHOLE_SHARE = 0.6
MOST_PARTS = 12


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
    """One RapidOCR engine on OpenVINO networks (one inference at a time: one lock)."""

    VERSION = 1  # recorded with each photo read; a new version re-reads old photos

    def __init__(self, threads: int = 1):
        from core.thirdparty import rapidocr

        self._engine = rapidocr(OcrNetwork, intra_op_num_threads=threads,
                                inter_op_num_threads=1, print_verbose=False)
        self._detector = self._engine.text_det.infer
        self._regions = Regions(self._detector)
        self._engine.text_det.infer = self._regions
        self._lock = threading.Lock()

    def text_likelihood(self, image: Image.Image) -> np.ndarray:
        """The detector's map (0..1 per pixel: is it text?) of a small copy of the picture."""
        pixels = _scaled(image, CHECK_SIDE)
        h, w = pixels.shape[:2]
        size = (max(STEP, round(w / STEP) * STEP), max(STEP, round(h / STEP) * STEP))
        if size != (w, h):
            pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
        x = (pixels.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        with self._lock:
            return self._detector(x)[0][0, 0]

    def read(self, image: Image.Image, likelihood: np.ndarray | None = None) -> list[TextLine]:
        """Every line of text found, with its place in the picture. With the small copy's map
        (`text_likelihood`), the detector looks only where it lit up."""
        pixels = _scaled(image, READ_SIDE)
        h, w = pixels.shape[:2]
        with self._lock:
            self._regions.hint = likelihood
            try:
                found, _ = self._engine(pixels)
            finally:
                self._regions.hint = None
        return lines_of(found, w, h)

    def text_of(self, image: Image.Image) -> list[TextLine]:
        """What a photo says: nothing without the full read when the detector sees no text."""
        likelihood = self.text_likelihood(image)
        if not (likelihood > TEXT_PIXEL).any():
            return []
        return self.read(image, likelihood)


def lines_of(found, w: int, h: int) -> list[TextLine]:
    """RapidOCR's answer for a picture of w × h px as lines worth keeping."""
    lines = []
    for points, text, confidence in found or []:
        text = " ".join(str(text).split())
        if not text or float(confidence) < MIN_CONFIDENCE:
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        lines.append(TextLine(text, round(float(confidence), 3),
                              (min(xs) / w, min(ys) / h, max(xs) / w, max(ys) / h)))
    return lines


def lit_parts(likelihood: np.ndarray, shape: tuple[int, int]) -> list[tuple[int, int, int, int]] | None:
    """The parts of a picture of `shape` (h, w, multiples of STEP) worth the detector's look,
    from a smaller copy's map: (y0, y1, x0, x1) on the STEP grid, merged where they touch.
    None: look at the whole picture (the parts would cover most of it, or are too many)."""
    import cv2

    h, w = shape
    lit = (likelihood > TEXT_PIXEL).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(lit, connectivity=8)
    sy, sx = h / lit.shape[0], w / lit.shape[1]
    parts = []
    for x, y, bw, bh, _ in stats[1:count]:  # 0 is the unlit background
        y0, y1 = int(y * sy) - MARGIN, int(np.ceil((y + bh) * sy)) + MARGIN
        x0, x1 = int(x * sx) - MARGIN, int(np.ceil((x + bw) * sx)) + MARGIN
        parts.append([max(0, y0 // STEP * STEP), min(h, -(-y1 // STEP) * STEP),
                      max(0, x0 // STEP * STEP), min(w, -(-x1 // STEP) * STEP)])
    merged = True
    while merged:  # overlapping or touching parts become their bounding part
        merged = False
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                a, b = parts[i], parts[j]
                if a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]:
                    parts[i] = [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])]
                    del parts[j]
                    merged = True
                    break
            if merged:
                break
    area = sum((p[1] - p[0]) * (p[3] - p[2]) for p in parts)
    if len(parts) > MOST_PARTS or area > WHOLE_SHARE * h * w:
        return None
    return [tuple(p) for p in parts]


class Regions:
    """The detector's network as RapidOCR calls it, looking only at the parts the check lit up
    when it has the check's map (`hint`, set for one call): elsewhere the map it returns is 0,
    where RapidOCR's boxes cannot start."""

    def __init__(self, network):
        self.network = network
        self.hint: np.ndarray | None = None
        self.looked_at = 1.0  # the share of the last call's picture the network saw

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        hint, (h, w) = self.hint, x.shape[2:]
        parts = None
        if hint is not None and abs(hint.shape[0] / hint.shape[1] - h / w) < 0.05 * h / w:
            parts = lit_parts(hint, (h, w))  # (RapidOCR pads only extreme shapes: those look at all)
        if parts is None:
            self.looked_at = 1.0
            return self.network(x)
        out = np.zeros((1, 1, h, w), np.float32)
        for y0, y1, x0, x1 in parts:
            out[..., y0:y1, x0:x1] = self.network(np.ascontiguousarray(x[..., y0:y1, x0:x1]))[0]
        self.looked_at = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in parts) / (h * w)
        return [out]


def models_folder() -> Path:
    folder = package_folder("rapidocr_onnxruntime")
    if folder is None:
        raise ImportError("rapidocr-onnxruntime is not installed")
    return folder / "models"


class OcrNetwork:
    """One of RapidOCR's ONNX networks compiled by OpenVINO for the CPU, in full precision
    (bf16 moved the detector's map by up to 0.33 on a sign), standing for the ONNX Runtime
    session RapidOCR makes from its configuration: called as RapidOCR calls its sessions,
    `network(batch) -> [output]`, and it reads the recogniser's alphabet from the model."""

    def __init__(self, config: dict):
        from core.thirdparty import openvino

        core = openvino().Core()
        self.model = core.read_model(str(config["model_path"]))
        threads = int(config.get("intra_op_num_threads") or 1)
        self._compiled = core.compile_model(self.model, "CPU", {
            "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": max(1, threads), "ENABLE_CPU_PINNING": False})

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(self._compiled(np.ascontiguousarray(batch, np.float32))[0])]

    # the ONNX file's metadata, where RapidOCR keeps the recogniser's alphabet
    def have_key(self, key: str = "character") -> bool:
        return self.model.has_rt_info(["framework", key])

    def get_character_list(self, key: str = "character") -> list[str]:
        return self.model.get_rt_info(["framework", key]).astype(str).splitlines()


def ocr_network(name: str, threads: int = 1) -> OcrNetwork:
    """One of RapidOCR's networks by file name (DETECTOR, RECOGNISER, ...), on OpenVINO."""
    return OcrNetwork({"model_path": models_folder() / name, "intra_op_num_threads": threads})


class TextEnricher:
    """The text enricher of the second pass (see core.folders.enrich): the lines read in a photo (or
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
        return [(media.frame, line) for line in self.read(image)], None

    def read(self, image: np.ndarray) -> list[TextLine]:
        """The lines read in a picture that is not blank."""
        self.load()
        return self._reader.text_of(Image.fromarray(image))
