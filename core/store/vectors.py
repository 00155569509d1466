"""Vectors: one row per photo or video moment and model, the index header, the model switch."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from core.store.db import Connections
from core.types import FRAME_SHIFT, label_of, split_label

_LABEL_SQL = f"media_id + (frame << {FRAME_SHIFT})"  # label_of, in SQL


@dataclass(frozen=True)
class IndexHeader:
    model_id: str
    dim: int
    count: int
    seq: int
    file_size: int
    fingerprint: str
    generation: int


def _vector_rows(rows: list[tuple], dtype) -> tuple[np.ndarray, np.ndarray, int]:
    """(labels, matrix of `dtype`, max seq) of rows read as (label, vector, seq)."""
    labels = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    mat = np.frombuffer(b"".join(r[1] for r in rows), "<f4").reshape(len(rows), -1)
    return labels, mat.astype(dtype, copy=False), max(r[2] for r in rows)


def _keywords_json(keywords) -> str | None:
    """A photo's keywords as stored: a JSON list (the full-text search will read them)."""
    return json.dumps(list(keywords), ensure_ascii=False) if keywords else None


def copy_vectors(db: sqlite_utils.Database, src_id: int, dst_id: int) -> None:
    """A copy's vectors are its source's, as one new batch (the index catches up on it)."""
    db.execute(
        "INSERT OR REPLACE INTO embeddings(media_id, model_id, frame, at_s, vector, seq) "
        "SELECT ?, model_id, frame, at_s, vector, "
        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM embeddings) FROM embeddings WHERE media_id=?",
        [dst_id, src_id],
    )


class Vectors(Connections):
    """Each model's vectors, read in blocks and written a batch at a time."""

    def store_vectors(
        self, model_id: str, items: list[tuple[int, np.ndarray, dict]], errors: list[tuple[int, str]]
    ) -> tuple[int, set[int]]:
        """Write one batch (vectors, metadata and errors) in one transaction.

        A photo has one vector; a video a matrix, one row per moment, with `meta["times"]`.
        Returns the batch's seq and the ids whose vectors were stored (a file that vanished
        meanwhile has no row left to update)."""
        stored: set[int] = set()
        with self.write() as w:
            seq = w.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM embeddings").fetchone()[0]
            for media_id, vec, meta in items:
                cur = w.execute(
                    "UPDATE media SET status='ok', error=NULL, width=?, height=?, taken_at=?, "
                    "taken_source=?, camera=?, lens=?, gps_lat=?, gps_lon=?, duration_s=?, "
                    "taken_offset=?, keywords=?, caption=? WHERE id=?",
                    [meta.get("width"), meta.get("height"), meta.get("taken_at"),
                     meta.get("taken_source"), meta.get("camera"), meta.get("lens"),
                     meta.get("gps_lat"), meta.get("gps_lon"), meta.get("duration_s"),
                     meta.get("taken_offset"), _keywords_json(meta.get("keywords")),
                     meta.get("caption"), media_id],
                )
                if cur.rowcount == 0:  # the file vanished while it was being embedded
                    continue
                vectors = np.atleast_2d(np.asarray(vec, dtype="<f4"))
                times = meta.get("times") or [None] * len(vectors)
                w.execute("DELETE FROM embeddings WHERE media_id=? AND model_id=?",
                          [media_id, model_id])
                for frame, (row, at) in enumerate(zip(vectors, times, strict=True)):
                    w.execute(
                        "INSERT INTO embeddings(media_id, model_id, frame, at_s, vector, seq) "
                        "VALUES(?, ?, ?, ?, ?, ?)",
                        [media_id, model_id, frame, at, row.tobytes(), seq],
                    )
                stored.add(media_id)
            for media_id, reason in errors:
                w.execute("UPDATE media SET status='error', error=? WHERE id=?", [reason, media_id])
        return seq, stored

    copy_embeddings = staticmethod(copy_vectors)

    def frame_times(self, model_id: str, labels: Iterable[int]) -> dict[int, float]:
        """label → seconds into its video, for labels of video moments."""
        pairs = [split_label(int(label)) for label in labels]
        out: dict[int, float] = {}
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            where = " OR ".join("(media_id=? AND frame=?)" for _ in chunk)
            for media_id, frame, at in self._rows(
                    f"SELECT media_id, frame, at_s FROM embeddings WHERE model_id=? AND "
                    f"at_s IS NOT NULL AND ({where})",
                    [model_id, *[v for pair in chunk for v in pair]]):
                out[label_of(media_id, frame)] = at
        return out

    # -- vectors -------------------------------------------------------------
    def vector_count(self, model_id: str, moments: bool = False) -> int:
        """How many media items have vectors for this model (a video counts once), or with
        `moments` how many vectors (each moment of a video counts)."""
        frames = "" if moments else " AND frame=0"
        return self.db.execute(
            f"SELECT COUNT(*) FROM embeddings WHERE model_id=?{frames}", [model_id]
        ).fetchone()[0]

    def vector_ids(self, model_id: str) -> np.ndarray:
        """Index labels of every vector of this model (see label_of)."""
        rows = self._rows(f"SELECT {_LABEL_SQL} FROM embeddings WHERE model_id=?", [model_id])
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vectors(
        self, model_id: str, since_seq: int = 0, ids: Iterable[int] | None = None,
        dtype=np.float32,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """(labels, matrix, max seq) of this model's vectors, optionally newer than a seq or of
        some media ids (all of a video's moments). Labels are media ids for photos.

        The whole table (no `ids`) is read in chunks straight into one matrix of `dtype`:
        at 1M 768-d vectors a float16 stand-in is made with 1.5 GB, never a 3 GB float32 copy
        (nor the rows' bytes, another 3 GB) on the way."""
        if ids is None:
            return self._all_vectors(model_id, since_seq, dtype)
        id_list = list(ids)
        rows: list[tuple] = []
        for start in range(0, len(id_list), 900):
            chunk = id_list[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows += self._rows(
                f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE model_id=? "
                f"AND media_id IN ({marks})", [model_id, *chunk])
        if not rows:
            return np.empty(0, np.int64), np.empty((0, 0), dtype), since_seq
        return _vector_rows(rows, dtype)

    def _all_vectors(self, model_id: str, since_seq: int, dtype) -> tuple[np.ndarray, np.ndarray, int]:
        count = self.db.execute("SELECT COUNT(*) FROM embeddings WHERE model_id=? AND seq>?",
                                [model_id, since_seq]).fetchone()[0]
        labels = np.empty(count, np.int64)
        matrix: np.ndarray | None = None
        extra: list[tuple[np.ndarray, np.ndarray]] = []  # rows written after the count
        n, top = 0, since_seq
        for got, vecs, seq in self.iter_vectors(model_id, since_seq, dtype):
            top = max(top, seq)
            if matrix is None:
                matrix = np.empty((count, vecs.shape[1]), dtype)
            fits = max(0, min(len(got), count - n))
            labels[n:n + fits], matrix[n:n + fits] = got[:fits], vecs[:fits]
            n += fits
            if fits < len(got):
                extra.append((got[fits:], vecs[fits:]))
        if matrix is None:
            return np.empty(0, np.int64), np.empty((0, 0), dtype), since_seq
        if n < count or extra:  # rows deleted or added between the count and the read
            labels = np.concatenate([labels[:n], *(e[0] for e in extra)])
            matrix = np.concatenate([matrix[:n], *(e[1] for e in extra)])
        return labels, matrix, top

    def iter_vectors(self, model_id: str, since_seq: int = 0, dtype=np.float32,
                     block: int = 8192) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """(labels, matrix of `dtype`, max seq) blocks of this model's vectors in (media id,
        frame) order, each block a separate array (a reader may let go of one it is done
        with). The whole table is walked one short read per block: a long walk (an index
        rebuild) never holds a read transaction open, which would keep the WAL from being
        checkpointed. Rows newer than a seq are few: one read through the (model, seq) index."""
        if since_seq:
            cursor = self.db.execute(
                f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE model_id=? AND seq>? "
                "ORDER BY media_id, frame", [model_id, since_seq])
            batches: Iterator[list[tuple]] = iter(lambda: cursor.fetchmany(block), [])
        else:
            batches = self._walk_vectors(model_id, block)
        for batch in batches:
            labels, vecs, seq = _vector_rows(batch, dtype)
            # its own array: float32 is a view of the rows' bytes until copied
            yield labels, vecs if vecs.flags.owndata else vecs.copy(), seq

    def _walk_vectors(self, model_id: str, block: int) -> Iterator[list[tuple]]:
        after = (-1, -1)
        while True:
            # the primary key's order, (media id, model, frame), from the last row read; the
            # unary + keeps SQLite off the (model, seq) index, which would sort every row of
            # the model for each block
            batch = self._rows(
                f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE +model_id=? "
                "AND (media_id, model_id, frame) > (?, ?, ?) "
                "ORDER BY media_id, model_id, frame LIMIT ?",
                [model_id, after[0], model_id, after[1], block])
            if batch:
                yield batch
            if len(batch) < block:
                return
            after = split_label(batch[-1][0])

    def max_seq(self, model_id: str) -> int:
        return self.db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM embeddings WHERE model_id=?", [model_id]
        ).fetchone()[0]

    def other_models(self, model_id: str) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT DISTINCT model_id FROM embeddings WHERE model_id!=?", [model_id])]

    # -- switching models (core/library/switch.py) -------------------------------------
    def make_model_active(self, spec: str, model_id: str, retired: Iterable[str] = ()) -> bool:
        """Make a model the library's (meta "model" and "model_id"), ending a switch, in one
        transaction; refused (False) while a photo still lacks its vector. The `retired`
        models' ids are kept in meta "retired_models" until their vectors are deleted."""
        with self.write() as w:
            if w.execute(
                    "SELECT 1 FROM media m JOIN folders f ON f.id=m.folder_id "
                    "WHERE f.paused=0 AND f.away IS NULL AND m.status!='error' AND NOT EXISTS "
                    "(SELECT 1 FROM embeddings e WHERE e.media_id=m.id AND e.model_id=?) "
                    "LIMIT 1", [model_id]).fetchone():
                return False
            for key, value in (("model", spec), ("model_id", model_id), ("switching_to", ""),
                               ("retired_models", "\n".join(retired))):
                w.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", [key, value])
        return True

    def lacking_vectors(self, model_id: str, folder_ids: Iterable[int]) -> int:
        """How many photos of these folders (those that could be read) have no vector of this
        model: a switch's new model, for a folder whose drive was away."""
        ids = list(folder_ids)
        if not ids:
            return 0
        return self.db.execute(
            f"SELECT COUNT(*) FROM media m WHERE m.folder_id IN ({','.join('?' * len(ids))}) "
            "AND m.status!='error' AND NOT EXISTS (SELECT 1 FROM embeddings e "
            "WHERE e.media_id=m.id AND e.model_id=?)", [*ids, model_id]).fetchone()[0]

    def drop_model(self, model_id: str) -> int:
        """Delete a model's vectors and index header; returns how many vectors went."""
        with self.write() as w:
            gone = w.execute("DELETE FROM embeddings WHERE model_id=?", [model_id]).rowcount
            w.execute("DELETE FROM index_header WHERE model_id=?", [model_id])
        return gone

    # -- index header --------------------------------------------------------
    def index_header(self, model_id: str) -> IndexHeader | None:
        row = self.db.execute(
            "SELECT model_id, dim, count, seq, file_size, fingerprint, generation "
            "FROM index_header WHERE model_id=?", [model_id]).fetchone()
        return IndexHeader(*row) if row else None

    def set_index_header(self, header: IndexHeader) -> None:
        with self.write() as w:
            w.execute(
                "INSERT OR REPLACE INTO index_header VALUES(?, ?, ?, ?, ?, ?, ?)",
                [header.model_id, header.dim, header.count, header.seq, header.file_size,
                 header.fingerprint, header.generation])

    def model_ids(self) -> list[str]:
        """Every model that has vectors in the catalog."""
        return [r[0] for r in self._rows("SELECT DISTINCT model_id FROM embeddings")]

