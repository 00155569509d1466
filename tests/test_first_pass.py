"""The searchable pass at the machine's limit: no more pixels decoded than the thumbnail and the
model need, and the same vectors as before."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.library import Library


def _camera_jpeg(path, size=(4000, 3000), orientation: int = 1):
    """A 12 MP JPEG from a real photograph (the astronaut), grain added, as a camera writes."""
    from skimage import data

    rng = np.random.default_rng(0)
    big = np.asarray(Image.fromarray(data.astronaut()).resize(size, Image.Resampling.BICUBIC),
                     np.int16)
    big = np.clip(big + rng.normal(0, 6, big.shape[:2] + (1,)).astype(np.int16), 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(big.astype(np.uint8)).save(path, quality=90, exif=exif.tobytes())
    return path


def test_a_12_mp_jpeg_is_decoded_only_as_large_as_thumbnail_and_model_need(tmp_path):
    from core.media.imaging import open_image

    wide = _camera_jpeg(tmp_path / "wide.jpg")
    # the thumbnail's 384 px on the long side, the model's 256 on the short: an 1/8 decode
    assert open_image(wide, 256, long_side=384).image.size == (384, 288)
    # a portrait shot, stored on its side: its sides swap, the same pixels are decoded
    tall = _camera_jpeg(tmp_path / "tall.jpg", orientation=6)
    decoded = open_image(tall, 256, long_side=384)
    assert decoded.image.size == (288, 384) and (decoded.width, decoded.height) == (3000, 4000)
    # without a long side, the short side alone counts, as before
    assert open_image(wide, 384).image.size == (512, 384)


def test_indexing_keeps_its_vectors_and_sharp_thumbnails_from_fewer_pixels(
        tmp_path, random_model, exported_runtime, monkeypatch):
    import shutil

    from core.media.imaging import open_image
    from core.media.thumbnails import decode_size, thumb_path

    photo = _camera_jpeg(tmp_path / "Pictures" / "IMG_0001.jpg")
    home = tmp_path / "home"
    shutil.copytree(exported_runtime, home / "runtime")
    with Library(home, model=random_model) as lib:
        emb = lib.load_model()
        sizes, real = [], type(emb).prepare
        monkeypatch.setattr(type(emb), "prepare",
                            lambda self, im: sizes.append(im.size) or real(self, im))
        lib.add_folder(photo.parent)
        assert lib.update().embedded == 1
        assert sizes == [(384, 288)]  # was 512 × 384, from a 1/4 decode
        (result,) = lib.recent(5)
        with Image.open(thumb_path(lib.thumbs, result.media_id)) as thumb:
            assert thumb.size == (384, 288)
        _, vectors, _ = lib.catalog.vectors(emb.model_id)
        # the path before: decoded at 1/4 scale, shrunk to the thumbnail's 384 px short side
        before = emb.encode_images([open_image(photo, decode_size(emb.image_size)).image])
        assert float(vectors[0] @ before[0]) >= 0.9999


def test_the_image_tower_takes_calls_side_by_side_with_the_same_vectors(exported_runtime):
    """Compiled for throughput: a stream per core, each with its own infer request (profiled:
    one stream on both cores waited at every layer whenever a decode thread took one of them).
    A batch split across the requests, and calls from several threads at once, give the
    vectors that one image at a time gives."""
    import json
    import threading

    from core.model.runtime import compile_tower

    manifest = json.loads(next(exported_runtime.glob("text-*.json")).read_text())
    tower = compile_tower(exported_runtime / manifest["image_xml"], "f32", threads=2)
    assert tower.requests == 2
    size = int(manifest["image_size"])
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((n, 3, size, size)).astype(np.float32) for n in (1, 5, 8, 3)]
    one_by_one = [np.concatenate([tower(b[i:i + 1]) for i in range(len(b))]) for b in batches]
    together: list = [[] for _ in batches]

    def run(i):
        for _ in range(5):
            together[i].append(tower(batches[i]))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for want, got in zip(one_by_one, together, strict=True):
        assert len(got) == 5
        for vectors in got:
            np.testing.assert_allclose(vectors, want, atol=1e-5)


def test_a_walk_hands_over_every_item_in_order_and_what_it_read_before_failing():
    """The scan's walk hands its items over in lists (one at a time, a run that finds nothing
    new spent 0.1 s of its 10,000 photos on the hand-over): each in order, and those read
    before the drive failed are still handed over before the failure."""
    import pytest

    from core.folders.drives import answering

    def walk():
        yield from range(1000)
        raise OSError(5, "Input/output error")

    got = []
    with pytest.raises(OSError):
        for item in answering(walk(), 5.0, "card"):
            got.append(item)
    assert got == list(range(1000))


def test_a_slow_walk_is_not_taken_for_a_drive_that_stopped_answering():
    """Items that come slowly (a share far away) are handed over as they come, not held for
    a list to fill: the wait between two never reaches the limit."""
    import time

    from core.folders.drives import answering

    def walk():
        for i in range(4):
            time.sleep(0.4)
            yield i

    assert list(answering(walk(), 1.0, "share")) == [0, 1, 2, 3]
