"""`snapseek status`, `info` and `models`: what a library and its files hold."""

from __future__ import annotations

import json
from pathlib import Path

from core.cli.common import _open
from core.words import format_seconds


def cmd_status(args) -> int:
    with _open(args) as lib:
        status = lib.status()
        errors = lib.errors() if args.errors else []
    if args.errors:
        status["errors"] = [{"path": p, "reason": r} for p, r in errors]
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"Library  {status['home']}")
    print(f"Model    {status['model']}")
    waiting = (f"; {status['waiting_for_drive']} wait for their drive to be indexed"
               if status["waiting_for_drive"] else "")
    print(f"Photos   {status['media_count']} ({status['indexed_count']} indexed, "
          f"{status['error_count']} could not be read{waiting})")
    print(f"Index    {status['index']}")
    for a in status["away"]:
        print(f"Away     {a['drive']} ({a['why']}): its {a['photos']} photos are kept, and "
              "searchable; looked at again when it is back")
    for f in status["folders"]:
        paused = "  (paused)" if f["paused"] else ""
        away = f"  ({f['away']})" if f["away"] else ""
        print(f"  {f['path']}  {f['media_count']} photos, {f['errors']} errors{paused}{away}")
    for e in status.get("errors", []):
        print(f"  ! {e['path']}: {e['reason']}")
    return 0


def cmd_info(args) -> int:
    """Each file as Snapseek reads it, from the file itself; loads no model, opens no library."""
    from core.media.probe import info

    found = [info(path) for path in args.paths]
    _what_the_library_knows(args, found)
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    for item in [] if args.json else found:
        if "error" in item:
            print(f"{item['path']}: {item['error']}")
            continue
        print(item["path"])
        duration = (f", {format_seconds(item['duration_s'])}" if item.get("duration_s")
                    else "")
        rows = [("kind", f"{item['kind']}, {item['width']}×{item['height']}{duration}"),
                ("taken", f"{item['taken']} ({item['taken_source']})"),
                ("camera", item["camera"]), ("lens", item["lens"]),
                ("gps", item["gps"] and f"{item['gps']['lat']:.6f}, {item['gps']['lon']:.6f}"),
                ("keywords", ", ".join(item["keywords"])), ("caption", item["caption"]),
                ("place", item.get("place") and ", ".join(
                    dict.fromkeys(v for v in item["place"].values() if v))),
                ("text", " / ".join(item.get("text") or [])),
                ("people", ", ".join(item.get("people") or [])),
                ("faces", _faces_line(item.get("faces") or []))]
        for name, value in rows:
            if value:
                print(f"  {name:<9} {value}")
    return 1 if any("error" in item for item in found) else 0


def _what_the_library_knows(args, found: list[dict]) -> None:
    """The place of each file with GPS (offline), and, for files in the library, the text read
    in it and the people in it. Opens the library only when it exists; loads no model."""
    from core.media.places import locate

    for item in found:
        if "error" in item:
            continue
        gps = item.get("gps")
        place = locate(gps["lat"], gps["lon"]) if gps else None
        item["place"] = ({"city": place.city, "region": place.region, "country": place.country}
                         if place else None)
        item["text"], item["people"], item["faces"] = [], [], []
    from core.library import default_home

    home = Path(args.home).expanduser() if args.home else default_home()
    if not (home / "catalog.db").exists() or not any("error" not in i for i in found):
        return
    with _open(args) as lib:
        for item in found:
            if "error" not in item:
                known = lib.about(item["path"])
                item["text"], item["people"] = known["text"], known["people"]
                item["faces"] = known["faces"]


def _faces_line(faces: list[dict]) -> str:
    """How many faces, and how many of them are in a person."""
    if not faces:
        return ""
    sorted_in = sum(1 for f in faces if f["person"] is not None)
    return f"{len(faces)} ({sorted_in} in people)"


def cmd_models(args) -> int:
    """Every offered model, the default marked; reads no library and loads no model."""
    from core.model.offered import DEFAULT_MODEL, MODELS, SIZE_NOTE, SPEED_COMMAND

    rows = [m.as_dict(DEFAULT_MODEL) for m in MODELS]
    if args.json:
        print(json.dumps({"default": DEFAULT_MODEL, "models": rows, "size_mb": SIZE_NOTE,
                          "photos_per_s": f"median of three runs of `{SPEED_COMMAND}`"},
                         indent=2, ensure_ascii=False))
        return 0
    for m in rows:
        recall = ", ".join(f"{k} {v}%" for k, v in m["xm3600_recall"].items()) or "not published"
        r1 = f"{m['coco_t2i_r1']}%" if m["coco_t2i_r1"] is not None else "not published"
        print(f"{'*' if m['default'] else ' '} {m['spec']}  ({m['name']})\n"
              f"    licence {m['licence']}{'' if m['open'] else ' (not an open licence)'}, "
              f"{m['languages']}, {m['size_mb']} MB"
              f"{', needs the full installation (torch)' if m['needs_full_installation'] else ''}\n"
              f"    MSCOCO text→image R@1 {r1}, Crossmodal-3600 recall: {recall}\n"
              f"    speed here: {_speed(m)}; memory with a library open: "
              f"{str(m['rss_mb']) + ' MB' if m['rss_mb'] else 'not measured'}")
    print("* the default for new libraries; a library keeps the model it was made with.")
    return 0


def _speed(m: dict) -> str:
    if not m["photos_per_s"]:
        return "not measured"
    derived = " (derived, see docs/PERFORMANCE.md)" if m["speed_note"].startswith("derived") else ""
    return f"{m['photos_per_s']} photos/s{derived}"
