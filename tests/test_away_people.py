"""Faces and names across an unplug, end to end with a real drive: a person named on a drive's
photos keeps the name while the drive is away (`index`, `watch`, `people`) and after it is
back, at the same mount point or another: the same ids, nothing embedded or looked at again."""

from __future__ import annotations

import json
import time
from pathlib import Path

from helpers import Watching, run_cli
from mounts import make_drive, mounted, need_mounts, plug, umount
from test_away import catalog_state
from test_people import write_people

from core.store import Catalog


def faces_state(home: Path) -> tuple[list, list, int]:
    """(faces: id, media id, person; people: id, name; second-pass runs) as the catalog has
    them."""
    catalog = Catalog(home / "catalog.db")
    try:
        faces = catalog.db.execute(
            "SELECT id, media_id, person_id FROM faces ORDER BY id").fetchall()
        people = catalog.db.execute("SELECT id, name FROM people ORDER BY id").fetchall()
        runs = catalog.db.execute("SELECT COUNT(*) FROM enrich_runs").fetchone()[0]
    finally:
        catalog.close()
    return faces, people, runs


def index(home: Path, model: str, *args: str) -> dict:
    """`snapseek index` with its second pass (faces; text in photos is left out here)."""
    done = run_cli("index", "--json", *args, home=home, model=model,
                   env={"SNAPSEEK_NO_TEXT": "1"})
    return json.loads(done.stdout)


def people(home: Path) -> list[dict]:
    return json.loads(run_cli("people", "--json", home=home).stdout)


def grace_of(listed: list[dict]) -> dict:
    return next(p for p in listed if p["name"] == "Grace Hopper")


def watch_until_back(home: Path, model: str, usb: Path, image: Path) -> None:
    """`watch` started while the drive is away: it keeps everything, and takes the drive back
    when it is plugged in again."""
    with Watching(home, model, {"SNAPSEEK_NO_TEXT": "1"}) as watch:
        watch.wait_for("Watching 1 folder(s)")  # the drive known to be away: nothing to say of it
        time.sleep(3)  # its first reconcile, and the second pass when idle, with the drive away
        assert grace_of(people(home))["count"] == 4  # listed while away, as watch runs
        plug(image, usb)
        watch.wait_for(f"{usb} is back")
        assert watch.stop() == 0, "".join(watch.said)


def test_a_named_face_on_a_drive_keeps_its_name_across_an_unplug(tmp_path, home, random_model):
    need_mounts()
    image, usb, usb1 = tmp_path / "usb.img", tmp_path / "media" / "USB", tmp_path / "media" / "USB1"
    make_drive(image, "USB", size_mb=32)
    with mounted(usb, usb1):
        plug(image, usb)
        write_people(usb / "people")  # Eileen and Grace in four photos each, two of no one
        report = index(home, random_model, str(usb))
        assert (report["embedded"], report["faces_done"], report["people"]) == (10, 10, 2)
        grace = next(p for p in people(home) if "grace_" in Path(p["paths"][0]).name)
        run_cli("people", "name", str(grace["id"]), "Grace", "Hopper", home=home)
        ids, vectors, seq = catalog_state(home)
        faces, named, runs = faces_state(home)
        assert (grace["id"], "Grace Hopper") in named

        def unchanged(ids: dict[str, int] = ids) -> None:
            assert catalog_state(home) == (ids, vectors, seq)  # nothing embedded again
            assert faces_state(home) == (faces, named, runs)  # nor looked at again

        umount(usb)  # unplugged
        report = index(home, random_model)
        assert (report["removed"], report["embedded"], report["faces_done"]) == (0, 0, 0)
        assert [a["drive"] for a in report["away"]] == ["USB"]
        unchanged()
        listed = grace_of(people(home))  # still listed, named, while the drive is away
        assert (listed["id"], listed["count"]) == (grace["id"], 4)
        assert sorted(listed["paths"]) == sorted(grace["paths"])

        watch_until_back(home, random_model, usb, image)  # started while away
        unchanged()
        report = index(home, random_model)  # back where it was
        assert (report["away"], report["embedded"], report["faces_done"]) == ([], 0, 0)
        unchanged()

        umount(usb)
        plug(image, usb1)  # back at another mount point
        report = index(home, random_model)
        assert (report["away"], report["removed"], report["embedded"], report["faces_done"]) \
            == ([], 0, 0, 0)
        unchanged({p.replace(str(usb), str(usb1)): i for p, i in ids.items()})
        listed = grace_of(people(home))
        assert (listed["id"], listed["count"]) == (grace["id"], 4)
        assert sorted(listed["paths"]) == sorted(
            p.replace(str(usb), str(usb1)) for p in grace["paths"])
        found = json.loads(run_cli("search", "--person", "Grace Hopper", "-k", "50", "--json",
                                   home=home).stdout)
        assert sorted(r["path"] for r in found) == sorted(listed["paths"])
