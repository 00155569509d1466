"""`snapseek people`: the people found in the photos, the suggestions (people seen in two
photos, and the names the photos' files give), their faces, and the corrections (name, merge,
move a face, "not this person", hide, sort again)."""

from __future__ import annotations

import json
import sys

from core.cli.common import _open
from core.types import SnapseekError

# how many values each action takes; "name" takes its name's words too
_VALUES = {"list": 0, "suggestions": 0, "faces": 1, "name": 2, "merge": 2, "move": 2,
           "reject": 2, "hide": 1, "unhide": 1, "recluster": 0}


def _ids(args) -> list[int | None]:
    values = args.values
    wanted = _VALUES[args.action]
    # "name ID" alone confirms a name from the files as they spell it
    if len(values) != wanted and not (args.action == "name" and values):
        raise SnapseekError(f"`snapseek people {args.action}` takes {wanted} "
                            "values (see `snapseek people --help`).")
    count = 1 if args.action == "name" else wanted
    what = {"move": ["face", "person"], "reject": ["person", "face"]}.get(
        args.action, ["person", "person"])
    ids: list[int | None] = []
    for value, kind in zip(values[:count], what, strict=False):
        if args.action == "faces" and value == "unsorted":
            ids.append(None)
        elif not value.isdigit():
            raise SnapseekError(f"not a {kind} id: {value!r} (see `snapseek people"
                                f"{' faces ID' if kind == 'face' else ''}`)")
        else:
            ids.append(int(value))
    return ids


def cmd_people(args) -> int:
    ids = _ids(args)
    with _open(args) as lib:
        if args.action == "name":
            _name(lib, ids[0], " ".join(args.values[1:]).strip())
        elif args.action == "merge":
            lib.merge_people(ids[0], ids[1])
            print(f"Person {ids[1]} merged into person {ids[0]}.")
        elif args.action == "move":
            left = lib.move_face(ids[0], ids[1])
            print(f"Face {ids[0]} is person {ids[1]}'s"
                  + (f" (it left person {left})." if left not in (None, ids[1]) else "."))
        elif args.action == "reject":
            lib.not_this_person(ids[1], ids[0])
            print(f"Face {ids[1]} is not person {ids[0]}'s, and will not be sorted back.")
        elif args.action in ("hide", "unhide"):
            lib.hide_person(ids[0], args.action == "hide")
            print(f"Person {ids[0]} {'hidden' if args.action == 'hide' else 'shown'}.")
        elif args.action == "recluster":
            stats = lib.recluster()
            print(json.dumps(stats) if args.json else
                  f"{stats['people']} people; {stats['sorted']} faces sorted, "
                  f"{stats['unsorted']} unsorted.")
        elif args.action == "faces":
            _print_faces(args, lib, ids[0])
        else:
            _print_people(args, lib)
    return 0


def _name(lib, person_id: int, name: str) -> None:
    if not name:  # a name from the files, as they spell it
        person = lib.confirm_file_name(person_id)
        name = lib.person(person).name
    else:
        person = lib.name_person(person_id, name)
    if person == person_id:
        print(f"Person {person_id} is now {name or 'unnamed'}.")
    else:
        print(f"Person {person_id} joined person {person}, {name}.")


def _print_people(args, lib) -> None:
    suggesting = args.action == "suggestions"
    rows = lib.suggestions() if suggesting else lib.people(hidden=args.hidden)
    people = [{"id": p.id, "name": p.name, "count": p.photos, "hidden": p.hidden,
               "paths": [r.path for r in lib.person_photos(p.id)]} for p in rows]
    named = []
    if suggesting:
        for p in people:
            p["file_name"] = None
        named = [{"id": n.person_id, "name": None, "count": n.photos, "hidden": n.hidden,
                  "paths": [r.path for r in lib.person_photos(n.person_id)],
                  "file_name": n.name} for n in lib.file_suggestions(args.hidden)]
    if args.json:
        print(json.dumps(people + named, ensure_ascii=False))
        return
    for p in people:
        hidden = "  (hidden)" if p["hidden"] else ""
        seen = f"seen in {p['count']} photos" if suggesting else f"{p['count']} photos"
        print(f"{p['id']:5d}  {p['name'] or '(unnamed)'}  {seen}{hidden}")
    for n in named:
        hidden = "  (said no to)" if n["hidden"] else ""
        print(f"{n['id']:5d}  {n['file_name']}?  named in the files of {n['count']} "
              f"photo{'s' if n['count'] != 1 else ''}{hidden}")
    if suggesting:
        if people:
            print("Name one to make them a person: snapseek people name ID NAME",
                  file=sys.stderr)
        if named:
            print("Confirm a name from the files: snapseek people name ID (or ID NAME: "
                  "another name); say no: snapseek people hide ID", file=sys.stderr)
        if not people and not named:
            print("No suggestions.", file=sys.stderr)
        return
    if not people:
        print("No people yet: `snapseek index` finds faces after indexing.", file=sys.stderr)
    waiting = len(lib.suggestions())
    if waiting:
        print(f"{waiting} more seen in fewer photos: snapseek people suggestions",
              file=sys.stderr)
    from_files = len(lib.file_suggestions())
    if from_files:
        print(f"{from_files} name{'s' if from_files != 1 else ''} from the photos' files to "
              "confirm: snapseek people suggestions", file=sys.stderr)
    unsorted = lib.unsorted_count()
    if unsorted:
        print(f"{unsorted} face{'s' if unsorted != 1 else ''} in no one: "
              "snapseek people faces unsorted", file=sys.stderr)


def _print_faces(args, lib, person_id: int | None) -> None:
    if person_id is not None:
        lib.person(person_id)  # one clear line when there is no such person
    faces = lib.person_faces(person_id, 1000)
    paths = lib.face_paths(faces)
    rows = [{"id": f.id, "media_id": f.media_id, "path": paths.get(f.media_id),
             "frame": f.frame, "quality": round(f.quality, 3)} for f in faces]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        moment = f"  (moment {row['frame']})" if row["frame"] else ""
        print(f"{row['id']:6d}  {row['path']}{moment}")
    if not rows:
        print("No faces.", file=sys.stderr)
