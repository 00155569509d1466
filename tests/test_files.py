"""Files written whole (a pair too: OpenVINO's .xml and .bin), paths inside folders, model ids."""

from __future__ import annotations

import os
import threading

import pytest

from core.files import atomic_path
from core.models import dim_of, fingerprint_of, model_id, spec_of
from core.paths import inside, normalise


def _save_pair(xml: str, payload: bytes) -> None:
    """What OpenVINO's save_model does: the .bin named after the .xml it is given."""
    assert xml.endswith(".xml")
    with open(xml[:-4] + ".bin", "wb") as f:
        f.write(payload * 10000)
    with open(xml, "wb") as f:
        f.write(payload)


def test_two_threads_exporting_the_same_tower_leave_one_whole_pair(tmp_path):
    dest = tmp_path / "tower.xml"
    seen, barrier = [], threading.Barrier(2)

    def export(payload: bytes) -> None:
        with atomic_path(dest, companions=(".bin",)) as tmp:
            seen.append(tmp)
            _save_pair(tmp, payload)
            barrier.wait(5)  # both temp pairs exist at once

    threads = [threading.Thread(target=export, args=(bytes([i]),)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 2
    xml, binary = dest.read_bytes(), (tmp_path / "tower.bin").read_bytes()
    assert xml in (b"\x01", b"\x02") and binary == xml * 10000  # a pair, never mixed
    assert sorted(os.listdir(tmp_path)) == ["tower.bin", "tower.xml"]


def test_a_failed_export_leaves_the_old_pair_and_no_temp_files(tmp_path):
    dest = tmp_path / "tower.xml"
    with atomic_path(dest, companions=(".bin",)) as tmp:
        _save_pair(tmp, b"\x01")
    with pytest.raises(RuntimeError):
        with atomic_path(dest, companions=(".bin",)) as tmp:
            _save_pair(tmp, b"\x02")
            raise RuntimeError("the converter failed")
    assert sorted(os.listdir(tmp_path)) == ["tower.bin", "tower.xml"]
    assert dest.read_bytes() == b"\x01"


def test_inside_a_folder_is_the_folder_or_below_it_never_a_longer_name(tmp_path):
    assert inside("/photos", "/photos") and inside("/photos/2024/a.jpg", "/photos")
    assert inside("/photos/a.jpg", "/photos/")
    assert not inside("/photos-old/a.jpg", "/photos") and not inside("/photo", "/photos")
    assert inside("/anything", "/")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert normalise(tmp_path / "link" / "a.jpg") == os.path.realpath(tmp_path / "real" / "a.jpg")


def test_a_model_id_is_read_from_the_right_so_a_folder_may_hold_a_hash_sign():
    made = model_id("local-dir:/models/v#2", "abc123", 512)
    assert (spec_of(made), fingerprint_of(made), dim_of(made)) == (
        "local-dir:/models/v#2", "abc123", 512)
    assert dim_of("no dimension") == 0
