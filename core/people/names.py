"""The names enricher of the second pass: the face regions a photo's own metadata names (XMP,
in the file and its sidecar; core/media/regions.py), stored with the photo's faces, whose
boxes they are matched to (core/store/names.py)."""

from __future__ import annotations

import numpy as np

from core.media.regions import Region, read_regions

ENRICHER = "names"
VERSION = 1  # bump when reading regions changes: every photo's files are read again


class NamesEnricher:
    """Reads the names a photo's files give its faces; a video's moments have none."""

    name = ENRICHER
    version = VERSION

    def run(self, image: np.ndarray, media) -> tuple[list[Region], str | None]:
        if media.kind == "video" or media.frame:
            return [], None
        return read_regions(media.path), None
