"""Media on disk: decoding photos and video moments, their pixels, metadata, places and thumbnails."""
