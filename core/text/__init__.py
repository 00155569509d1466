"""Text in photos: read offline, as a second-pass enricher."""
