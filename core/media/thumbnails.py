"""Thumbnails' owner: where they live, how they are made and forgotten."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from core.files import atomic_path

# Sharp on a HiDPI grid whatever the model's input size (32 px for the test model, 256 for
# many real ones): the thumbnail is THUMB_SIZE on its long side. Photos are decoded at the
# model's input on the short side and THUMB_SIZE on the long side (decode_sides); a video's
# moments at max(model input, THUMB_SIZE) on the short side.
THUMB_SIZE = 384
JPEG_QUALITY = 85


def decode_size(model_input: int) -> int:
    """The short side to decode a video's moment at so that it serves model and thumbnail."""
    return max(int(model_input), THUMB_SIZE)


def decode_sides(model_input: int) -> tuple[int, int]:
    """(short, long): the least a photo is decoded at so that one decode serves the model (its
    input on the short side) and the thumbnail (THUMB_SIZE on the long side); a 12 MP JPEG
    then decodes at 1/8 scale, where the short side alone asked for 1/4."""
    return int(model_input), max(int(model_input), THUMB_SIZE)


def thumb_path(thumbs: Path, media_id: int, frame: int = 0) -> Path:
    """Thumbnails are keyed by media id, so a renamed photo keeps its thumbnail; a video has
    one per moment (`1234-3.jpg`)."""
    name = f"{media_id}.jpg" if not frame else f"{media_id}-{frame}.jpg"
    return Path(thumbs) / f"{media_id // 1000:04d}" / name


def save_thumbnail(image: Image.Image, dest: Path, size: int = THUMB_SIZE) -> None:
    """A JPEG thumbnail, `size` on its long side (never enlarged), written atomically."""
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC)
    if thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    # a cache, rebuilt from the photo when lost: no fsync (one per photo would slow indexing)
    with atomic_path(dest, fsync=False) as tmp:
        thumb.save(tmp, "JPEG", quality=JPEG_QUALITY)


def save_thumbnails(thumbs: Path, media_id: int, images: list[Image.Image]) -> None:
    """A photo's thumbnail, or one per moment of a video."""
    for frame, image in enumerate(images):
        save_thumbnail(image, thumb_path(thumbs, media_id, frame))


def remove_thumbnails(thumbs: Path, media_ids) -> int:
    """Delete every thumbnail of these media: a photo's, each moment of a video's, and any
    temp file left by a write. Forgetting a photo must not leave a copy of it behind."""
    removed = 0
    for media_id in media_ids:
        media_id = int(media_id)
        folder = thumb_path(thumbs, media_id).parent
        # "12.jpg", "12.jpg.<random>.tmp" and "12-3.jpg", never "123.jpg"
        for pattern in (f"{media_id}.*", f"{media_id}-*"):
            for path in folder.glob(pattern):
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed
