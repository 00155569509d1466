"""Query vectors and ranking: weighted terms, negatives, exact search, words in names."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import numpy as np

from core.query.dates import DateRange, find_date
from core.query.who import read_people
from core.types import FRAME_SHIFT as _FRAME_SHIFT
from core.types import MEDIA_MASK as _MEDIA_MASK
from core.types import AllOf, Not, Query
from core.words import fold


def combine(parts: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Weighted sum of unit vectors (negative weights push away), normalised."""
    if not parts:
        raise ValueError("empty query")
    vec = np.zeros_like(parts[0][0], dtype=np.float32)
    for v, w in parts:
        vec += np.float32(w) * np.asarray(v, np.float32)
    norm = float(np.linalg.norm(vec))
    if norm < 1e-6:
        # e.g. "a - a": nothing left to look for; fall back to the positive terms alone
        vec = sum(np.float32(w) * v for v, w in parts if w > 0)
        norm = float(np.linalg.norm(vec)) or 1.0
    return (vec / norm).astype(np.float32)


def parse_terms(text: str) -> list[tuple[str, float]]:
    """rclip-style terms: "2:golden retriever + ./pool.jpg - fruit" → [(term, weight)].

    Terms are separated by a '+' or '-' with spaces around it; a leading 'N:' sets the weight.
    """
    pieces = re.split(r"\s([+-])\s", text.strip())
    terms: list[tuple[str, float]] = []
    for i in range(0, len(pieces), 2):
        sign = -1.0 if i and pieces[i - 1] == "-" else 1.0
        term, weight = pieces[i].strip(), 1.0
        head, sep, rest = term.partition(":")
        if sep and _is_number(head) and rest.strip():
            term, weight = rest.strip(), float(head)
        if term:
            terms.append((term, sign * weight))
    return terms


def parse_query(text: str, k: int | None = 20, dates: bool = True, today: dt.date | None = None,
                ignore_dates: frozenset[str] = frozenset(), people=(), places=None,
                ignore_places: frozenset[str] = frozenset()) -> tuple[Query, DateRange | None]:
    """The query a user typed: a date phrase becomes a filter, terms may be weighted or
    negative ("2:dog + ./beach.jpg - people"), and a term that is a file is an image. Names of
    `people` typed in it become who the query asks for (query.who: "(Anna and Ben) or Carl",
    "only Anna", "Anna without Ben", see core.query.who); a negative term that is people alone
    ("beach - Ben") is without them."""
    when = None
    if dates and text:
        text, when = find_date(text, today, ignore_dates)
    query = Query(k=k)
    known = None
    if places:
        from core.media.places import find_place

        known = {n: v for n, v in places.items() if n not in {fold(p) for p in ignore_places}}
    asked = []
    for term, weight in parse_terms(text) if text else []:
        if _looks_like_path(term):
            query.images.append((Path(term).expanduser(), weight))
            continue
        if people:
            rest, who = read_people(term, people)
            if who is not None and weight > 0:
                term = rest
                asked.append(who)
            elif who is not None and not rest.strip():
                term = ""
                asked.append(Not(who))
        if weight > 0 and known and query.place is None:
            # a place the library has ("beach in Portugal"); "dog - Lisbon" excludes Lisbon's
            # look, it never filters to it
            match = find_place(term, known)
            if match is not None:
                query.place, term = match.name, match.rest
        if term.strip():
            query.texts.append((term.strip(), weight))
    query.who = AllOf.of(asked)
    if when is not None:
        query.after, query.before = when.bounds()
    return query, when


def _looks_like_path(term: str) -> bool:
    return term.startswith(("/", "./", "../", "~")) and os.path.isfile(os.path.expanduser(term))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def exact_top(labels: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (labels, scores), best first; equal scores in label order (stable results)."""
    k = min(k, len(labels))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.lexsort((labels[top], -scores[top]))]
    return np.asarray(labels[top], np.int64), np.asarray(scores[top], np.float32)


def knn_each(search, vectors: np.ndarray, k: int) -> tuple[list, list]:
    """knn_many of the exact searches, one query at a time: one row per vector; rows may be
    shorter than k (labels forgotten meanwhile)."""
    pairs = [search.knn(v, k) for v in vectors]
    return [p[0] for p in pairs], [p[1] for p in pairs]


class ExactSearch:
    """Brute-force inner product over vectors held in memory: the answer while the index
    is (re)built, and the ground truth the index is measured against. Same interface as
    VectorIndex: labels are media ids, with a video's frame above it (catalog.label_of).

    The vectors are held as blocks (as the catalog reads them) so that a stand-in can let go
    of the blocks an index being built already holds (`drop_through`)."""

    CHUNK = 65536  # rows of a float16 matrix widened to float32 at a time

    RESCORE_MARGIN = 32  # float16 candidates beyond k, rescored in float32

    def __init__(self, ids: np.ndarray, matrix: np.ndarray, dtype=np.float32, exact=None):
        """`dtype=np.float16` halves the memory (the stand-in during a rebuild: 1.5 GB at 1M
        768-d vectors instead of 3 GB); scores are still summed in float32. With `exact`
        (labels → (labels found, their float32 vectors), e.g. from the catalog), the best
        candidates are scored again from those: results are the index's, to the last digit."""
        self._dtype = np.dtype(dtype)
        self._blocks: list[tuple[np.ndarray, np.ndarray]] = []
        if len(ids):
            self._blocks.append((np.asarray(ids, np.int64),
                                 np.ascontiguousarray(matrix, self._dtype)))
        self._exact = exact if self._dtype != np.float32 else None

    @classmethod
    def from_blocks(cls, blocks, dtype=np.float32, exact=None) -> ExactSearch:
        """From (labels, matrix) blocks in (media id, frame) order, e.g. catalog.iter_vectors."""
        out = cls(np.empty(0, np.int64), np.empty((0, 0)), dtype, exact)
        out._blocks = [(np.asarray(ids, np.int64), np.ascontiguousarray(m, out._dtype))
                       for ids, m, *_ in blocks if len(ids)]
        return out

    def drop_through(self, label: int) -> None:
        """Let go of the leading blocks that end at or before this label in (media id, frame)
        order: an index being built holds them now. Queries running keep their own list."""
        key = (label & _MEDIA_MASK, label >> _FRAME_SHIFT)
        blocks = self._blocks
        kept = 0
        while kept < len(blocks):
            last = int(blocks[kept][0][-1])
            if (last & _MEDIA_MASK, last >> _FRAME_SHIFT) > key:
                break
            kept += 1
        self._blocks = blocks[kept:]

    @property
    def ids(self) -> np.ndarray:
        blocks = self._blocks
        return np.concatenate([b[0] for b in blocks]) if blocks else np.empty(0, np.int64)

    @property
    def nbytes(self) -> int:
        return sum(b[1].nbytes for b in self._blocks)

    def _scores(self, matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, np.float32)
        if matrix.dtype == np.float32:
            return matrix @ vector
        out = np.empty(len(matrix), np.float32)
        for start in range(0, len(matrix), self.CHUNK):
            out[start:start + self.CHUNK] = (
                matrix[start:start + self.CHUNK].astype(np.float32) @ vector)
        return out

    def __len__(self) -> int:
        return sum(len(b[0]) for b in self._blocks)

    def knn_many(self, vectors: np.ndarray, k: int) -> tuple[list, list]:
        return knn_each(self, vectors, k)

    def knn(self, vector: np.ndarray, k: int, allowed: set[int] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        """The k best labels, of the allowed media ids only when a set is given (a mask)."""
        wanted = None if allowed is None else np.fromiter(allowed, np.int64, len(allowed))
        ids_parts, score_parts = [], []
        for ids, matrix in self._blocks:
            if wanted is not None:
                mask = np.isin(ids & _MEDIA_MASK, wanted)
                ids, matrix = ids[mask], matrix[mask]
            ids_parts.append(ids)
            score_parts.append(self._scores(matrix, vector))
        if not ids_parts or min(k, sum(len(i) for i in ids_parts)) <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        ids, scores = np.concatenate(ids_parts), np.concatenate(score_parts)
        if self._exact is None:
            return exact_top(ids, scores, k)
        labels, _ = exact_top(ids, scores, k + self.RESCORE_MARGIN)
        labels, vectors = self._exact(labels)  # those still in the catalog
        return exact_top(np.asarray(labels, np.int64),
                         np.asarray(vectors, np.float32) @ np.asarray(vector, np.float32), k)

    def moment_slack(self, k: int, allowed: set[int] | None = None) -> int:
        """See VectorIndex.moment_slack."""
        ids = self.ids
        media = ids[ids > _MEDIA_MASK] & _MEDIA_MASK  # later moments of videos
        if allowed is not None:
            media = media[np.isin(media, np.fromiter(allowed, np.int64, len(allowed)))]
        if not len(media):
            return 0
        return int(min(len(media), max(k - 1, 0) * np.unique(media, return_counts=True)[1].max()))


class RebuildSearch:
    """The answer while an index is rebuilt beside queries: the part already built, and the
    exact stand-in for the rest, which shrinks as the index takes its blocks. Memory stays near
    the finished index's own (at 1M 768-d vectors, 3.4 GB rather than 3.4 plus a 1.5 GB stand-in).

    The stand-in is asked first: a block it lets go of meanwhile is already in the index, so
    every vector is seen once or twice (twice counts once), never missed."""

    def __init__(self, index, standin: ExactSearch):
        self.index, self.standin = index, standin

    def __len__(self) -> int:
        return len(self.index) + len(self.standin)

    def taken(self, label: int) -> None:
        """The index holds every vector up to this label (the rebuild's progress): the stand-in
        lets go of them, and their memory goes back to the system at once (glibc would keep the
        freed blocks in the process: at 1M vectors the stand-in's 1.5 GB stayed beside the
        finished index)."""
        from core.osutil import give_back_memory

        self.standin.drop_through(label)
        give_back_memory()

    def knn(self, vector: np.ndarray, k: int, allowed: set[int] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        parts = [self.standin.knn(vector, k, allowed), self.index.knn(vector, k, allowed)]
        labels = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([np.asarray(p[1], np.float32) for p in parts])
        labels, first = np.unique(labels, return_index=True)
        return exact_top(labels, scores[first], k)

    def knn_many(self, vectors: np.ndarray, k: int) -> tuple[list, list]:
        return knn_each(self, vectors, k)

    def moment_slack(self, k: int, allowed: set[int] | None = None) -> int:
        return self.standin.moment_slack(k, allowed) + self.index.moment_slack(k, allowed)


def best_per_media(labels: np.ndarray, scores: np.ndarray) -> list[tuple[int, int, float]]:
    """(label, media id, score) of each media's best label, in rank order: a video's later
    moments rank below its best one and are dropped."""
    out, seen = [], set()
    for label, score in zip(labels.tolist(), scores.tolist(), strict=True):
        media_id = label & _MEDIA_MASK
        if media_id not in seen:
            seen.add(media_id)
            out.append((label, media_id, score))
    return out


# -- words that match file and folder names ------------------------------------------------------
NAME_BOOST = 0.05  # added to the similarity per query word found in the file's path
_STOPWORDS = frozenset(
    "the and with from for our my your his her their this that these those photo photos picture "
    "pictures image images of in on at a an to by near some".split())
_EXACT = re.compile(r'"([^"]+)"|\b(path|name):(\S+)')


def split_names(text: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    """(text for the model, exact name filters, words that may match names).

    A "quoted phrase" or `path:x` must appear in the path, `name:x` in the file name (any
    case); they are taken out of the text. The remaining words (3+ letters or a year) lift
    photos whose file or folder names contain them: "Lisbon 2019".
    """
    exact: list[tuple[str, str]] = []

    def take(match: re.Match) -> str:
        if match.group(1):
            exact.append(("path", fold(match.group(1), accents=False)))
        else:
            exact.append((match.group(2), fold(match.group(3), accents=False)))
        return " "

    rest = " ".join(_EXACT.sub(take, text).split())
    # lowered, not folded: the words go to the full-text table, whose tokenizer lowers case
    # the same way ("straße" stays "straße"; folded, it would be "strasse" and found nowhere)
    words = [w for w in re.findall(r"[^\W_]+", rest.lower())
             if (len(w) >= 3 and not w.isdigit() and w not in _STOPWORDS)
             or (w.isdigit() and len(w) == 4)]
    return rest, exact, list(dict.fromkeys(words))


# -- relevance feedback -------------------------------------------------------------------------
ROCCHIO_GOOD = 0.75  # classic Rocchio weights: the query keeps weight 1
ROCCHIO_BAD = 0.25


def rocchio(query: np.ndarray | None, good: dict[int, np.ndarray],
            bad: dict[int, np.ndarray]) -> np.ndarray:
    """Move the query towards the results marked good and away from those marked bad."""
    parts: list[tuple[np.ndarray, float]] = [] if query is None else [(query, 1.0)]
    if good:
        parts.append((np.mean(list(good.values()), axis=0), ROCCHIO_GOOD))
    if bad and parts:
        parts.append((np.mean(list(bad.values()), axis=0), -ROCCHIO_BAD))
    if not parts:
        raise ValueError("nothing to search for")
    return combine(parts)


# -- near-duplicates ------------------------------------------------------------------------------
def group_by_seed(pairs: list[tuple[float, int, int]], vectors: dict[int, np.ndarray],
                  threshold: float) -> list[list[int]]:
    """Groups from similar pairs (similarity, a, b), largest first, each led by its seed.

    Pairs are taken most similar first; a photo joins a group only when it is at least
    `threshold` similar to the group's seed, so A≈B≈C never groups A with an unlike C.
    """
    seed_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for _, a, b in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if a in seed_of and b in seed_of:
            continue
        if a not in seed_of and b not in seed_of:
            seed_of[a] = seed_of[b] = a
            members[a] = [a, b]
            continue
        grouped, loose = (a, b) if a in seed_of else (b, a)
        seed = seed_of[grouped]
        if float(vectors[loose] @ vectors[seed]) >= threshold:
            seed_of[loose] = seed
            members[seed].append(loose)
    return sorted(members.values(), key=lambda g: (-len(g), g[0]))
