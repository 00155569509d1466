"""Faces on real pictures that ship in installed packages: scikit-image's astronaut (Eileen
Collins) and matplotlib's Grace Hopper, with crops, flips, scales, brightness changes and the
bad cases (blur, a face cut by the edge, dozens of faces, a rotated photo)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from core.folders.enrich import decode
from core.people import faces
from core.people.clustering import MATCH_DISTANCE


def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def grace_hopper() -> Image.Image:
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return Image.open(path).convert("RGB")


def variants(im: Image.Image) -> dict[str, Image.Image]:
    return {
        "flip": im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "x2": im.resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC),
        "x3": im.resize((im.width * 3, im.height * 3), Image.Resampling.BICUBIC),
        "dark": ImageEnhance.Brightness(im).enhance(0.6),
        "bright": ImageEnhance.Brightness(im).enhance(1.4),
        "crop": im.crop((im.width // 8, 0, im.width * 7 // 8, im.height * 3 // 4)),
    }


def sortable(im: Image.Image) -> list[faces.Face]:
    found, _ = faces.find_faces(np.asarray(im.convert("RGB")))
    return [f for f in found if f.sortable]


@pytest.fixture(scope="module")
def models():
    return faces.FaceModels.get()


def test_weights_ship_with_the_package(models):
    folder = faces.models_dir()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").stat().st_size > 20_000_000
    assert (folder / "shape_predictor_5_face_landmarks.dat").exists()


@pytest.mark.parametrize("name,picture,box", [
    # where the face is, by eye, as fractions of the picture (left, top, right, bottom)
    ("astronaut", astronaut, (0.30, 0.10, 0.56, 0.38)),
    ("grace_hopper", grace_hopper, (0.28, 0.18, 0.78, 0.60)),
])
def test_real_face_found_where_it_is(models, name, picture, box):
    found = sortable(picture())
    assert len(found) == 1, name
    face = found[0]
    left, top, right, bottom = face.box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    assert box[0] < cx < box[2] and box[1] < cy < box[3]
    assert face.embedding.shape == (faces.EMBEDDING_DIM,) and face.embedding.dtype == np.float32
    assert face.quality >= faces.MIN_QUALITY
    with Image.open(io.BytesIO(face.crop)) as crop:
        assert max(crop.size) <= faces.CROP_SIZE


def test_a_helmet_is_not_a_person(models):
    """The astronaut's helmet, lower left, looks like a face to the HOG detector (score near
    0): kept as an unsorted face, never sorted into a person."""
    found, _ = faces.find_faces(np.asarray(astronaut()))
    helmets = [f for f in found if f.box[1] > 0.5]
    assert all(not f.sortable and f.embedding is None for f in helmets)


def test_same_person_close_different_people_apart(models):
    embeddings = {}
    for who, picture in (("eileen", astronaut), ("grace", grace_hopper)):
        im = picture()
        for kind, variant in {"orig": im, **variants(im)}.items():
            found = sortable(variant)
            assert len(found) == 1, (who, kind)
            embeddings[(who, kind)] = found[0].embedding
    keys = list(embeddings)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            d = float(np.linalg.norm(embeddings[a] - embeddings[b]))
            if a[0] == b[0]:
                assert d < MATCH_DISTANCE * 0.6, (a, b, d)
            else:
                assert d > MATCH_DISTANCE * 1.15, (a, b, d)


def test_blurred_and_tiny_faces_stay_unsorted(models):
    blurred, _ = faces.find_faces(np.asarray(grace_hopper().filter(ImageFilter.GaussianBlur(6))))
    assert blurred and all(not f.sortable for f in blurred)
    assert all(f.quality < faces.MIN_QUALITY for f in blurred)
    # Grace at 64 px wide: found or not, never sorted into a person
    tiny = grace_hopper().resize((64, 75))
    canvas = Image.new("RGB", (1280, 960), "grey")
    canvas.paste(tiny, (600, 400))
    found, _ = faces.find_faces(np.asarray(canvas))
    assert all(not f.sortable for f in found)


def test_sharpness_measures_blur():
    rnd = np.random.default_rng(0)
    sharp = (rnd.random((96, 96)) * 255).astype(np.uint8)
    soft = np.asarray(Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(3)))
    assert faces.sharpness(sharp) > 10 * faces.sharpness(soft)
    assert faces.quality_of(np.zeros((10, 10, 3), np.uint8), 3, 3, 4, 4) == 0.0  # 1-px box


def test_face_at_the_edge_is_clipped_to_the_picture(models):
    im = grace_hopper()
    found = sortable(im)
    left = int(found[0].box[0] * im.width + (found[0].box[2] - found[0].box[0]) * im.width * 0.25)
    cut = im.crop((left, 0, im.width, im.height))  # a quarter of the face is outside
    edge, _ = faces.find_faces(np.asarray(cut))
    for face in edge:
        assert 0.0 <= face.box[0] < face.box[2] <= 1.0 and 0.0 <= face.box[1] < face.box[3] <= 1.0


def test_dozens_of_faces_are_capped_and_noted(models):
    face = grace_hopper().resize((170, 200))
    cols, rows = 8, 6
    crowd = Image.new("RGB", (cols * 170, rows * 200), "white")
    for i in range(cols * rows):
        crowd.paste(face, ((i % cols) * 170, (i // cols) * 200))
    found, note = faces.find_faces(np.asarray(crowd))
    assert len(found) == faces.MAX_FACES
    assert note is not None and f"the {faces.MAX_FACES} largest kept" in note
    assert [f.idx for f in found] == list(range(faces.MAX_FACES))


def test_boxes_are_on_the_upright_picture(models, tmp_path):
    """A photo stored on its side with an EXIF orientation gives the box of the upright one."""
    im = grace_hopper()
    upright = tmp_path / "upright.jpg"
    im.save(upright, quality=95)
    sideways = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer turns it 90° clockwise
    im.transpose(Image.Transpose.ROTATE_90).save(sideways, quality=95, exif=exif)
    a = sortable(Image.fromarray(decode(str(upright))))[0]
    b = sortable(Image.fromarray(decode(str(sideways))))[0]
    assert np.allclose(a.box, b.box, atol=0.03)


def test_a_12_mp_photo_is_decoded_near_the_detection_size(tmp_path):
    big = tmp_path / "big.jpg"
    grace_hopper().resize((4000, 3000)).save(big, quality=90)
    picture = decode(str(big))
    assert picture.shape[2] == 3
    assert 1200 <= max(picture.shape[:2]) <= 1600


def test_faces_found_in_the_child_are_those_found_here(models, tmp_path):
    """dlib runs in a child process in the app's pass: the same faces, quality and embedding,
    and the crops written here."""
    from core.folders.enrich import MediaRef
    from core.people.faceworker import FaceEnricherApart

    picture = np.asarray(astronaut())
    here, _ = faces.find_faces(picture)
    apart = FaceEnricherApart(tmp_path)
    apart.load()
    try:
        wait = apart.start(picture, MediaRef(7, "astronaut.png", "photo"))
        there, _ = wait()
    finally:
        apart.close()
    assert [(f.box, f.quality, f.sortable) for f in there] == \
        [(f.box, f.quality, f.sortable) for f in here]
    for a, b in zip(here, there, strict=True):
        assert (a.embedding is None) == (b.embedding is None)
        if a.embedding is not None:
            assert np.allclose(a.embedding, b.embedding, atol=1e-5)
    assert sorted(p.name for p in tmp_path.rglob("7-face*")) == \
        [f"7-face0-{f.idx}.jpg" for f in here if f.sortable]


def test_a_blank_frame_is_not_looked_at(models, monkeypatch):
    from core.media.pixels import blank

    black = np.zeros((960, 1280, 3), np.uint8)
    assert blank(black) and blank(black + 200)
    page = Image.new("RGB", (1280, 960), "white")
    page.paste(Image.new("RGB", (40, 3), "black"), (600, 480))  # one thin stroke
    assert not blank(np.asarray(page))
    monkeypatch.setattr(faces.FaceModels, "get", lambda: pytest.fail("dlib ran on a blank frame"))
    assert faces.find_faces(black) == ([], None)
