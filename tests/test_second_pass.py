"""The second pass (faces and text in photos) starts its models only when a photo is left for
it to look at: after a change that leaves none (a photo deleted, a pass already done), no faces
child is started and no text network is compiled."""

from __future__ import annotations

from core.library import Library


def test_the_second_pass_starts_nothing_when_no_photo_is_left(tmp_path, photo_dir, random_model,
                                                              monkeypatch):
    from core.people import faceworker
    from core.people.faceworker import FaceEnricherApart
    from core.text.ocr import TextEnricher

    started = []
    for enricher in (FaceEnricherApart, TextEnricher):
        real = enricher.load
        monkeypatch.setattr(enricher, "load", lambda self, real=real: (
            started.append(type(self).__name__), real(self))[1])
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        done, failed, _ = lib.enrich()
        assert done + failed == 8 and set(started) == {"FaceEnricherApart", "TextEnricher"}
        started.clear()
        next(photo_dir.glob("*.jpg")).unlink()  # a change that leaves nothing to look at
        lib.update()
        assert lib.enrich() == (0, 0, False)
        assert started == []  # no model was started for it
        assert faceworker._child.pids == []  # and no faces child is running
