"""What Snapseek reads from one file, without a library: `snapseek info`."""

from __future__ import annotations

import os

from core.media.imaging import ImageError, is_video, kind_of, open_image
from core.media.metadata import file_time, iso
from core.media.video import open_video


def info(path: str) -> dict:
    """What Snapseek reads from one file, without a library: the fields of `snapseek info`.
    A file that cannot be read has `error` (one line) and whatever was known before."""
    out: dict = {"path": path, "kind": kind_of(path)}
    if not os.path.lexists(path):
        return {**out, "error": "no such file"}
    if os.path.isdir(path):
        return {**out, "error": "a folder, not a file"}
    try:
        if is_video(path):
            meta = open_video(path, 64, max_frames=1).meta
        else:
            meta = open_image(path, 64).meta
        if "taken_at" not in meta:
            meta.update(file_time(path))
    except ImageError as exc:
        return {**out, "error": str(exc)}
    except OSError as exc:
        return {**out, "error": exc.strerror or str(exc)}
    out.update(
        width=meta.get("width"), height=meta.get("height"),
        taken=iso(meta.get("taken_at"), meta.get("taken_offset")),
        taken_source=meta.get("taken_source"), camera=meta.get("camera"),
        lens=meta.get("lens"),
        gps={"lat": meta["gps_lat"], "lon": meta["gps_lon"]} if "gps_lat" in meta else None,
        keywords=meta.get("keywords", []), caption=meta.get("caption"))
    if out["kind"] == "video":
        out["duration_s"] = round(meta["duration_s"], 3) if meta.get("duration_s") else None
    return out
