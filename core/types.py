"""Small value types shared by the core, the CLI and the desktop."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class _Word(str, Enum):
    """An enum whose members are also the plain words they stand for: they compare, hash,
    print and serialise as those words (logs, JSON and older listeners keep working)."""

    __hash__ = str.__hash__
    __str__ = str.__str__
    __format__ = str.__format__


class State(_Word):
    """What the background work is doing (Progress.state)."""

    SCANNING = "scanning"
    INDEXING = "indexing"
    FINDING_FACES = "finding faces"  # the second pass: faces and text in photos
    RE_EMBEDDING = "re-embedding"  # a model switch
    DOWNLOADING = "downloading"  # a model's exported towers: done and total in bytes, rate B/s
    PAUSED = "paused"
    IDLE = "idle"
    ERROR = "error"


class Level(_Word):
    """How much a Notice matters."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# A video is one media item with several vectors (its moments). Index labels pack the frame
# number above the media id, so frame 0 (every photo, a video's first moment) keeps label ==
# media id and an index file written before videos existed stays valid.
FRAME_SHIFT = 40
MEDIA_MASK = (1 << FRAME_SHIFT) - 1


def label_of(media_id: int, frame: int = 0) -> int:
    return media_id + (frame << FRAME_SHIFT)


def split_label(label: int) -> tuple[int, int]:
    """(media id, frame) of an index label."""
    return label & MEDIA_MASK, label >> FRAME_SHIFT


# where in its sources a library raised, before the words (OpenVINO's "Exception from
# src/...cpp:132:" and "Check '...' failed at src/...cpp:219:"): not what a reader needs
_SOURCE_LINE = re.compile(r"^(Exception from|Check .* failed at) \S+:\d+:?$")


def one_line(exc: BaseException, most: int = 300, first: bool = False) -> str:
    """An exception's message on one line (torch's and OpenVINO's run over several). With
    `first` (why one file cannot be used, as the catalog records it): only its first line, and
    an OSError's own words without the path it names (FFmpeg's "Invalid data found when
    processing input")."""
    text = (getattr(exc, "strerror", None) if first else None) or str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kept = [line for line in lines if not _SOURCE_LINE.match(line)] or lines
    said = " ".join(kept[:1] if first else kept)
    return (said if len(said) <= most else said[:most - 1] + "…") or type(exc).__name__


class SnapseekError(Exception):
    """An error with a message meant for the user: what failed and how to fix it."""


class ModelUnavailable(SnapseekError):
    """The model's weights could not be loaded or downloaded."""


class ModelMismatch(SnapseekError):
    """The stored vectors were made with another model than the one asked for."""


class LibraryBusy(SnapseekError):
    """Another process is writing to this library home (indexing it, or the app watching it)."""


class CatalogError(SnapseekError):
    """The catalog cannot be opened (corrupt, or written by a newer version)."""


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    paused: bool
    media_count: int = 0
    error_count: int = 0
    drive: str | None = None  # the drive it is on, as a person calls it (label, mount point)
    away: str | None = None  # why its drive is away (not connected, not answering), else None


def away_line(drive: str | None, why: str) -> str:
    """What a photo whose drive is away says of itself: "on USB, not connected"."""
    return f"on {drive}, {why}" if drive else why


@dataclass(frozen=True)
class SearchResult:
    media_id: int
    path: str
    score: float
    width: int | None = None
    height: int | None = None
    taken_at: float | None = None
    kind: str = "photo"
    duration_s: float | None = None  # videos
    frame: int = 0  # the video moment that matched best
    at_s: float | None = None  # ...and where it is, in seconds
    # the people asked for who are in it (None: the query asked for no one)
    people: tuple[str, ...] | None = None
    away: str | None = None  # its drive is away: "on USB, not connected" (away_line)

    def to_json(self) -> dict:
        out = {"path": self.path, "score": round(float(self.score), 6), "media_id": self.media_id}
        if self.kind == "video":
            out.update(kind="video", duration_s=self.duration_s, at_s=self.at_s)
        if self.people is not None:
            out["people"] = list(self.people)
        if self.away:
            out["away"] = self.away
        return out


# -- who a query asks for: an expression over who is in the photo ------------------------------
@dataclass(frozen=True)
class Person:
    """This person is in the photo (a name, any case, or a person's id)."""

    name: str

    def names(self, wanted: bool = False) -> tuple[str, ...]:
        """Every name it speaks of, in order; with `wanted`, those asked to be there."""
        return (self.name,)


@dataclass(frozen=True)
class Alone:
    """These people are in the photo and no one else, recognised or not (a face too small or
    blurred to tell who it is still counts as someone)."""

    people: tuple[str, ...]

    def names(self, wanted: bool = False) -> tuple[str, ...]:
        return self.people


@dataclass(frozen=True)
class Not:
    """What its part says is not so of the photo."""

    part: Who

    def names(self, wanted: bool = False) -> tuple[str, ...]:
        return () if wanted else self.part.names()


@dataclass(frozen=True)
class AllOf:
    """Every part holds."""

    parts: tuple[Who, ...]

    def names(self, wanted: bool = False) -> tuple[str, ...]:
        return _names(self.parts, wanted)

    @classmethod
    def of(cls, parts) -> Who | None:
        """The parts (None ones left out) joined, those joined the same way taken apart:
        None for none, the part itself for one."""
        return _joined(cls, parts)


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Who, ...]

    def names(self, wanted: bool = False) -> tuple[str, ...]:
        return _names(self.parts, wanted)

    @classmethod
    def of(cls, parts) -> Who | None:
        return _joined(cls, parts)


Who = Person | Alone | Not | AllOf | AnyOf


def _names(parts, wanted: bool) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for p in parts for n in p.names(wanted)))


def _joined(kind, parts) -> Who | None:
    flat: list = []
    for part in parts:
        if isinstance(part, kind):
            flat += [p for p in part.parts if p not in flat]
        elif part is not None and part not in flat:
            flat.append(part)
    return None if not flat else flat[0] if len(flat) == 1 else kind(tuple(flat))


@dataclass
class Query:
    """What the user asked for: text and images, each with a weight (negative excludes)."""

    texts: list[tuple[str, float]] = field(default_factory=list)
    images: list[tuple[Path, float]] = field(default_factory=list)
    media: list[tuple[int, float]] = field(default_factory=list)
    # relevance feedback: results marked good pull the query towards them, bad ones push it
    # away and leave the list (Rocchio)
    good: list[int] = field(default_factory=list)
    bad: list[int] = field(default_factory=list)
    k: int = 20
    folder: str | None = None
    after: float | None = None  # taken at or after (unix time)
    before: float | None = None  # taken before
    kinds: frozenset[str] | None = None  # photo, raw, video
    camera: str | None = None  # a part of "make model", any case
    sort: str = "relevance"  # or "date" (newest first) among the k best matches
    # people, by name (any case) or id: all of them in the photo; at least one of these; none
    # of these; and these alone, no one else recognised or not (a face too small or blurred to
    # tell who it is still counts as someone)
    persons: list[str] = field(default_factory=list)
    persons_any: list[str] = field(default_factory=list)
    persons_not: list[str] = field(default_factory=list)
    persons_only: list[str] = field(default_factory=list)
    who: Who | None = None  # who the typed text asks for (core.query.who reads it)
    place: str | None = None  # a city, region or country the photo was taken in

    @classmethod
    def text(cls, text: str, k: int = 20) -> Query:
        return cls(texts=[(text, 1.0)], k=k)

    @classmethod
    def image(cls, path: str | Path, k: int = 20) -> Query:
        return cls(images=[(Path(path), 1.0)], k=k)

    def has_filters(self) -> bool:
        return bool(self.folder or self.camera or self.kinds or self.after is not None
                    or self.before is not None or bool(self.asked_people()) or self.place)

    def asked_people(self) -> list[str]:
        """Every name the query asks about, whatever the way, each once."""
        return list(dict.fromkeys([*self.persons, *self.persons_any, *self.persons_not,
                                   *self.persons_only,
                                   *(self.who.names() if self.who is not None else ())]))

    def is_empty(self) -> bool:
        return not (self.texts or self.images or self.media or self.good)


@dataclass(frozen=True)
class Progress:
    """A snapshot of background work, sent to listeners as it changes."""

    state: State
    found: int = 0
    done: int = 0
    failed: int = 0
    total: int = 0
    rate: float = 0.0  # photos per second
    eta_s: float | None = None
    current: str = ""
    model: str = ""  # re-embedding: the model the library is switching to


@dataclass(frozen=True)
class Notice:
    """A message for the user: something happened that they may need to act on."""

    level: Level
    text: str


@dataclass(frozen=True)
class GoneHeld:
    """A scan found most of a folder's photos gone while the folder is on its drive: they
    are kept until the user says to forget them (`snapseek index --forget-missing`, the app
    asks; Library.forget_missing)."""

    folder: str
    gone: int
    photos: int  # the folder's photos before the scan

    def line(self) -> str:
        return (f"{self.gone} of the {self.photos} photos in {self.folder} are gone, though the "
                "folder is on its drive: they are kept until you say to forget them")


Event = Progress | Notice | GoneHeld  # what Library listeners are told


@dataclass(frozen=True)
class Away:
    """A watched folder whose drive is away: its photos are kept, and stay searchable."""

    folder: str
    drive: str
    why: str  # not connected, not answering
    photos: int

    def line(self) -> str:
        return away_line(self.drive, self.why)

    def to_json(self) -> dict:
        return {"folder": self.folder, "drive": self.drive, "why": self.why,
                "photos": self.photos}


@dataclass
class ScanReport:
    found: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    renamed: int = 0
    copied: int = 0
    removed: int = 0
    away: list[Away] = field(default_factory=list)  # folders whose drive is away: kept
    held: list[GoneHeld] = field(default_factory=list)  # photos gone but kept: asked first


@dataclass
class IndexReport:
    scan: ScanReport
    embedded: int = 0
    failed: int = 0
    seconds: float = 0.0
    cancelled: bool = False
