"""Files written whole (a pair too: OpenVINO's .xml and .bin), paths inside folders, model ids."""

from __future__ import annotations

import os
import threading

import pytest

from core.files import atomic_path
from core.model.offered import dim_of, fingerprint_of, model_id, spec_of
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


def test_two_writers_putting_pairs_in_place_at_once_never_mix_them(tmp_path, monkeypatch):
    """The worst order of two writers' renames, made to happen: the first puts its .bin in
    place, the second its .bin and .xml, then the first its .xml (one's .xml beside the other's
    .bin). One writer at a time puts its pair in place: the second waits for the first."""
    dest = tmp_path / "tower.xml"
    real_replace, order = os.replace, []
    first_bin_done, second_xml_done = threading.Event(), threading.Event()

    def replace(src, dst):
        me = threading.current_thread().name
        if str(dst).endswith(".xml") and order and order[0] == (me, "bin"):
            second_xml_done.wait(2)  # the first writer lets the second finish its pair first
        real_replace(src, dst)
        order.append((me, "bin" if str(dst).endswith(".bin") else "xml"))
        if len(order) == 1:
            first_bin_done.set()
        elif order[-1][1] == "xml" and order[-1][0] != order[0][0]:
            second_xml_done.set()

    monkeypatch.setattr(os, "replace", replace)

    def export(payload: bytes) -> None:
        if payload == b"\x02":
            first_bin_done.wait(2)  # the second writer begins once the first is halfway
        with atomic_path(dest, companions=(".bin",), fsync=False) as tmp:
            _save_pair(tmp, payload)

    threads = [threading.Thread(target=export, args=(bytes([i]),), name=f"w{i}") for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    xml, binary = dest.read_bytes(), (tmp_path / "tower.bin").read_bytes()
    assert binary == xml * 10000, order  # a pair, never mixed


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
