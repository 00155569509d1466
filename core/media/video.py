"""Videos as a few moments: frames at scene changes or every few seconds, decoded with PyAV."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from core.media.errors import FILE_ERRORS, ImageError, file_error, reason
from core.media.imaging import MAX_PIXELS
from core.media.metadata import camera_name, machine_offset, parse_date

MAX_MOMENTS = 24  # per video: enough to find a scene, few enough to keep the index small
EVERY_S = 10.0  # at least one moment per 10 s of a scene that does not change
MIN_GAP_S = 1.0  # never two moments closer than this
SCENE_CHANGE = 0.12  # mean difference of 8x8 colour signatures (0..1) that starts a new scene
SEEK_AFTER_S = 2 * MAX_MOMENTS * EVERY_S  # longer videos: seek to evenly spaced times instead
_ISO6709 = re.compile(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


@dataclass
class VideoFrames:
    images: list[Image.Image]  # upright RGB, short side about `min_side`
    meta: dict = field(default_factory=dict)  # with "times": seconds from the start, per image

    @property
    def times(self) -> list[float]:
        return self.meta["times"]


def open_video(path: str | os.PathLike, min_side: int, max_frames: int = MAX_MOMENTS
               ) -> VideoFrames:
    """Sample a video's moments: keyframes only (cheap), kept at scene changes or every
    EVERY_S seconds, at most `max_frames`; long videos are sampled by seeking instead."""
    try:
        import av
    except Exception as exc:  # not installed, or without its FFmpeg libraries
        raise ImageError("needs PyAV to read videos (pip install av)") from exc

    try:
        container = av.open(os.fspath(path), metadata_errors="ignore")
    except FILE_ERRORS as exc:
        raise file_error(exc, "read this video") from exc
    except Exception as exc:  # FFmpeg's errors, and whatever a crafted file makes PyAV raise
        if _is_text(path):
            raise ImageError("not a video (a text file, e.g. TypeScript source named .ts)") \
                from exc
        why = reason(exc) if isinstance(exc, (av.error.FFmpegError, OSError)) \
            else f"{type(exc).__name__}: {reason(exc)}"
        raise ImageError(f"not a readable video ({why})") from exc
    try:
        with container:
            if not container.streams.video:
                raise ImageError("no video stream in the file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_PIXELS:
                raise ImageError(f"video frames too large to decode safely ({width}x{height})")
            duration = _duration(container, stream)
            meta = _metadata(container)
            if max_frames == 1:  # a thumbnail: the first keyframe will do
                stream.codec_context.skip_frame = "NONKEY"
                frames = _collect(container, stream, min_side, 1, keep_all=True)
            elif duration and duration > SEEK_AFTER_S:
                frames = _by_seeking(container, stream, duration, min_side, max_frames)
            else:
                frames = _keyframes(container, stream, min_side, max_frames)
            if not frames:  # some streams mark no keyframes: take the first frame there is
                container.seek(0)
                stream.codec_context.skip_frame = "DEFAULT"
                frames = _collect(container, stream, min_side, 1, keep_all=True)
    except ImageError:
        raise
    except MemoryError as exc:
        raise file_error(exc, "read this video") from exc
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated video ({reason(exc)})") from exc
    except Exception as exc:  # a crafted file: one clear line, never a traceback
        raise ImageError(f"corrupt video ({type(exc).__name__}: {reason(exc)})") from exc
    if not frames:
        raise ImageError("no frame could be decoded")
    rotated = abs(frames[0][2]) in (90, 270)
    meta.update(width=height if rotated else width, height=width if rotated else height,
                duration_s=duration, times=[t for t, _, _ in frames])
    return VideoFrames([im for _, im, _ in frames], meta)


def _is_text(path) -> bool:
    """Whether a file that FFmpeg refused starts like text (source code named like a video)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    for cut in range(4):  # the 512th byte may fall inside a character
        try:
            head[:len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return bool(head) and b"\x00" not in head
    return False


def _duration(container, stream) -> float | None:
    """The stream's own duration; else the container's, unless it is missing or a whole number
    of seconds (rounded, or estimated): then the end of the last packet, read without
    decoding (a Matroska file written as a stream has no duration at all)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    stated = container.duration / 1_000_000 if container.duration else None  # av.time_base
    if stated is not None and container.duration % 1_000_000:
        return stated
    measured = _packet_end(container, stream)
    return measured if measured else stated


def _packet_end(container, stream) -> float | None:
    """Seconds from the stream's first packet to the end of its last, by demuxing."""
    first = end = None
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            end = max(end or packet.pts, packet.pts + (packet.duration or 0))
    finally:
        container.seek(0)
    if first is None or not stream.time_base:
        return None
    return float((end - first) * stream.time_base) or None


def _keyframes(container, stream, min_side: int, max_frames: int) -> list:
    stream.codec_context.skip_frame = "NONKEY"
    frames = _collect(container, stream, min_side, max_frames)
    if len(frames) > max_frames:  # evenly thinned, the first moment always kept
        pick = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
        frames = [frames[i] for i in sorted(set(pick.tolist()))]
    return frames


def _collect(container, stream, min_side: int, max_frames: int, keep_all: bool = False) -> list:
    kept: list = []
    last_t, last_sig = None, None
    for frame in _frames_until_damage(container, stream, kept):
        t = _time(frame, stream)
        if last_t is not None and t - last_t < MIN_GAP_S:
            continue
        image, rotation = _image(frame, min_side)
        sig = _signature(image)
        if keep_all or last_t is None or t - last_t >= EVERY_S \
                or float(np.abs(sig - last_sig).mean()) >= SCENE_CHANGE:
            kept.append((t, image, rotation))
            last_t, last_sig = t, sig
            if keep_all and len(kept) >= max_frames:
                break
        if not keep_all and len(kept) >= 4 * max_frames:
            kept = kept[::2]  # bounded memory, and the whole video still gets its say
    return kept


def _frames_until_damage(container, stream, kept: list):
    """Decoded frames; a file damaged part-way (a broken copy, a camera that lost power)
    ends the video there when moments were found before it, rather than losing them all."""
    import av

    frames = container.decode(stream)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            return
        except (av.error.FFmpegError, EOFError):
            if kept:
                return
            raise
        yield frame


def _by_seeking(container, stream, duration: float, min_side: int, max_frames: int) -> list:
    """Long videos: one keyframe near each of `max_frames` evenly spaced times."""
    stream.codec_context.skip_frame = "NONKEY"
    out, seen = [], set()
    for target in np.linspace(0, duration * 0.98, max_frames).tolist():
        container.seek(int(target / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            t = _time(frame, stream)
            if round(t, 2) not in seen:
                seen.add(round(t, 2))
                image, rotation = _image(frame, min_side)
                out.append((t, image, rotation))
            break
    return sorted(out, key=lambda f: f[0])


def _time(frame, stream) -> float:
    if frame.time is not None:
        return max(0.0, float(frame.time))
    return float(frame.pts * stream.time_base) if frame.pts is not None else 0.0


def _image(frame, min_side: int) -> tuple[Image.Image, int]:
    """The frame scaled (by swscale, cheaply) to `min_side` on its short side, upright."""
    w, h = frame.width, frame.height
    f = min(1.0, min_side / max(1, min(w, h)))
    image = frame.reformat(width=max(1, round(w * f)), height=max(1, round(h * f)),
                           format="rgb24").to_image()
    rotation = int(getattr(frame, "rotation", 0) or 0)
    if rotation:  # the display matrix turns the frame counter-clockwise by this angle
        image = image.rotate(rotation, expand=True)
    return image, rotation


def _signature(image: Image.Image) -> np.ndarray:
    """A tiny colour thumbnail: a red scene and a blue one can be equally bright."""
    return np.asarray(image.resize((8, 8), Image.Resampling.BOX), np.float32) / 255.0


def _metadata(container) -> dict:
    """Date, camera, GPS, keywords and caption from the container's and streams' tags.

    The date is QuickTime's creationdate (local time with its offset, what iPhones write),
    else the first creation_time (UTC) that is not a camera's unset clock: zeros, 1904 (the
    QuickTime epoch) or 1970 (Unix's) are no date.
    """
    tags: dict[str, list[str]] = {}
    for source in (container, *container.streams):
        for k, v in (source.metadata or {}).items():
            tags.setdefault(k.lower(), []).append(v)

    def first(*names: str) -> str | None:
        return next((v.strip() for n in names for v in tags.get(n, []) if v and v.strip()), None)

    meta: dict = {}
    dates = [(v, True) for v in tags.get("com.apple.quicktime.creationdate", [])]
    for value, local in dates + [(v, False) for v in tags.get("creation_time", [])]:
        taken = parse_date(value)
        if taken is None or dt.datetime.fromtimestamp(taken[0], dt.timezone.utc).year < 1990:
            continue
        stamp, offset = taken
        if not local:  # an instant in UTC, from nowhere in particular: this computer's zone
            offset = machine_offset(stamp)
        meta.update(taken_at=stamp, taken_offset=offset, taken_source="video")
        break
    camera = camera_name(first("com.apple.quicktime.make", "make"),
                         first("com.apple.quicktime.model", "model"))
    if camera:
        meta["camera"] = camera
    where = first("com.apple.quicktime.location.iso6709", "location")
    match = _ISO6709.match(where) if where else None
    if match:
        lat, lon = float(match.group(1)), float(match.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            meta["gps_lat"], meta["gps_lon"] = lat, lon
    keywords = first("com.apple.quicktime.keywords", "keywords")
    if keywords:
        meta["keywords"] = [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()]
    caption = first("com.apple.quicktime.description", "description", "comment")
    if caption:
        meta["caption"] = caption
    return meta
