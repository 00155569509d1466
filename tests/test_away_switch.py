"""A model switch while a drive is away, with a real drive: the switch flips without the away
photos (their files cannot be read), counts them neither as failed nor as its work, `status`
says how many wait for their drive, and once it is back they, and only they, are embedded
with the new model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import make_random_model, run_cli
from mounts import make_drive, mounted, need_mounts, plug, umount
from test_away import catalog_state, fill, index, status

from core.library import Library
from core.store import Catalog
from core.types import Progress, State


@pytest.fixture(scope="module")
def model_b(tmp_path_factory) -> str:
    return make_random_model(tmp_path_factory.mktemp("models") / "tiny-random-b", seed=5)


def vectors_of(home: Path, model_id: str) -> dict[int, int]:
    """media id → the seq of its vector of this model."""
    catalog = Catalog(home / "catalog.db")
    try:
        return dict(catalog.db.execute(
            "SELECT media_id, seq FROM embeddings WHERE model_id=?", [model_id]).fetchall())
    finally:
        catalog.close()


def test_a_switch_while_a_drive_is_away_embeds_its_photos_when_it_is_back(
        tmp_path, home, random_model, model_b):
    need_mounts()
    image, usb, local = tmp_path / "usb.img", tmp_path / "media" / "USB", tmp_path / "Pictures"
    make_drive(image, "USB")
    fill(local, 6)
    with mounted(usb):
        plug(image, usb)
        fill(usb)
        index(home, random_model, str(usb), str(local))
        ids = catalog_state(home)[0]
        here = {ids[p] for p in ids if p.startswith(str(local))}
        assert (len(ids), len(here)) == (18, 6)
        umount(usb)
        index(home, random_model)  # the drive is away

        with Library(home, model=model_b) as lib:
            seen = []
            lib.subscribe(lambda e: isinstance(e, Progress) and e.state == State.RE_EMBEDDING
                          and seen.append((e.done, e.failed, e.total)))
            plan = lib.begin_switch()
            assert (plan["done"], plan["total"]) == (0, 6), plan  # only what can be read
            assert "Re-embedding 6 photos" in plan["text"]
            report = lib.update()
            assert lib.model_spec == model_b and lib.switch_target is None  # flipped without
            assert (report.scan.removed, report.failed) == (0, 0)
            assert seen and {(failed, total) for _, failed, total in seen} == {(0, 6)}
            b_id = lib.embedder.model_id
        told = status(home)
        assert (told["library_model"], told["media_count"], told["indexed_count"],
                told["waiting_for_drive"]) == (model_b, 18, 6, 12)
        assert "12 wait for their drive" in run_cli("status", home=home).stdout
        before = vectors_of(home, b_id)
        assert set(before) == here

        plug(image, usb)  # back: its photos, and only they, get the new model's vectors
        report, _ = index(home, model_b)
        assert (report["new"], report["removed"], report["embedded"], report["failed"]) == (
            0, 0, 12, 0)
        assert catalog_state(home)[0] == ids  # the same ids
        after = vectors_of(home, b_id)
        assert set(after) == set(ids.values())
        assert {m: after[m] for m in before} == before  # the others were not embedded again
        told = status(home)
        assert (told["indexed_count"], told["waiting_for_drive"]) == (18, 0)
        found = json.loads(run_cli("search", "red circle", "--json", "-k", "18",
                                   home=home).stdout)
        assert {r["path"] for r in found} & {p for p in ids if p.startswith(str(usb))}
