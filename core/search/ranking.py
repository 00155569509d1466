"""Ranking: from a query to ordered results.

The query's vector (text, pictures, photos of the library, relevance feedback), the vector
search among the media the filters allow, the words of the query found in what photos say of
themselves lifted into the ranking, the relevant set cut where the matches end, and groups of
near-duplicates. The Library hands it the catalog and two getters: the loaded model and the
vector search (the index, or its exact stand-in while the index is rebuilt)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from core.media.imaging import ImageError, open_image
from core.query.filters import Filters, PeopleRule
from core.search.cutoff import relevant_count
from core.search.scoring import NAME_BOOST, best_per_media, combine, group_by_seed, rocchio, split_names
from core.store import Catalog, MediaBrief
from core.types import MEDIA_MASK, Query, SearchResult, SnapseekError, split_label

# how far a photo holding every typed word stays above the best photo that does not (a tie
# would go to the lower media id)
WORD_MARGIN = 1e-3


def result_of(label: int, score: float, brief: MediaBrief,
              times: dict[int, float] | None = None) -> SearchResult:
    """A result from an index label (media id and frame) and what the catalog says of it."""
    media_id, frame = split_label(label)
    return SearchResult(media_id, brief.path, score, brief.width, brief.height, brief.taken_at,
                        brief.kind, duration_s=brief.duration_s, frame=frame,
                        at_s=(times or {}).get(label), away=brief.away)


class Ranker:
    # the relevant set (a query without k): the best CANDIDATES by similarity are cut where the
    # matches end (core/search/cutoff.py), measured against a fixed sample of the library's scores
    CANDIDATES = 1000
    BULK_SAMPLE = 2000
    ALL = 1_000_000  # "every result": filters alone, or --all

    def __init__(self, catalog: Catalog, embedder: Callable[[], object],
                 searcher: Callable[[], object], check_model: Callable[[], None]):
        self.catalog = catalog
        self._embedder = embedder  # the loaded model (loads it)
        self._searcher = searcher  # the vector search: knn, knn_many, moment_slack
        self._check_model = check_model  # refuses to compare vectors of different models
        self._bulk_sample: tuple[str, np.ndarray, int] | None = None  # (model, vectors, count)

    def forget(self) -> None:
        """Drop what was kept of the model's vectors (the model changed)."""
        self._bulk_sample = None

    # -- results without a model ---------------------------------------------------
    def results(self, ids: list[int]) -> list[SearchResult]:
        """Media ids as results, in the order given (score 0)."""
        rows = self.catalog.media_rows(ids)
        return [result_of(i, 0.0, r) for i in ids if (r := rows.get(i))]

    def filtered(self, query: Query) -> list[SearchResult]:
        """What the filters of a query let through, newest first, without a model."""
        return self.results(self.catalog.ids_passing(Filters.of(query), query.k))

    def check_persons(self, names) -> None:
        """Every person asked for exists (by name, any case, or id), or one clear line."""
        for name in names:
            if not self.catalog.people_named(name):
                raise SnapseekError(f"No person is named {name!r} (see `snapseek people`; "
                                    "name one with `snapseek people name ID NAME`).")

    # -- vectors ---------------------------------------------------------------
    def query_vector(self, query: Query) -> np.ndarray:
        emb = self._embedder()
        parts: list[tuple[np.ndarray, float]] = []
        for text, weight in query.texts:
            parts.append((emb.encode_text([text])[0], weight))
        for path, weight in query.images:
            if not os.path.exists(path):
                raise SnapseekError(f"no such file: {path}")
            try:
                image = open_image(path, emb.image_size).image
            except ImageError as exc:
                raise SnapseekError(f"Cannot use {path} as a query: {exc}") from exc
            parts.append((emb.encode_images([image])[0], weight))
        if query.media:
            by_id = self.media_vectors([m for m, _ in query.media])
            for media_id, weight in query.media:
                if media_id in by_id:
                    parts.append((by_id[media_id], weight))
        if not parts and not query.good:
            raise SnapseekError("Nothing to search for.")
        return rocchio(combine(parts) if parts else None, self.media_vectors(query.good),
                       self.media_vectors(query.bad))

    def media_vectors(self, media_ids: list[int]) -> dict[int, np.ndarray]:
        """One unit vector per media id: a photo's, or the mean of a video's moments."""
        if not media_ids:
            return {}
        labels, vecs, _ = self.catalog.vectors(self._embedder().model_id, ids=media_ids)
        grouped: dict[int, list[np.ndarray]] = {}
        for label, vec in zip(labels.tolist(), vecs, strict=True):
            grouped.setdefault(split_label(label)[0], []).append(vec)
        out = {}
        for media_id, rows in grouped.items():
            mean = np.mean(rows, axis=0)
            out[media_id] = (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)
        return out

    # -- search ----------------------------------------------------------------
    def search(self, query: Query) -> list[SearchResult]:
        """Ranked results for a query (see _search); each says which of the people asked for
        are in it."""
        results = self._search(query)
        rule = PeopleRule.of(query)
        if not rule.wanted() or not results:
            return results
        seen = self.catalog.faces_seen([r.media_id for r in results])
        return [replace(r, people=rule.matched(seen.get(r.media_id, []))) for r in results]

    def _search(self, query: Query) -> list[SearchResult]:
        """Ranked results for a query; never mixes vectors of different models.

        Two channels, one ranking: the model's similarity, and the words of the query found in
        what a photo says of itself (file and folder names, keywords, caption, place, text in
        the picture: the catalog's full-text table). A photo holding the typed words is lifted
        by the span of the scores times the share of the words it holds: one holding all of
        them comes before any merely similar one, whatever the model's scale. Quoted
        phrases and `path:` / `name:` terms must match (see search.split_names). With k None,
        the results are the relevant set: they end where the matches end (core/search/cutoff.py).
        """
        if query.k is not None and query.k < 1:
            raise SnapseekError(f"The number of results must be at least 1, not {query.k}.")
        if query.is_empty() and not query.has_filters():
            return []
        self.check_persons(query.asked_people())
        texts, exact, words = [], [], []
        for text, weight in query.texts:
            if weight > 0:
                text, found_exact, found_words = split_names(text)
                exact += found_exact
                words += found_words
            if text:
                texts.append((text, weight))
        query = replace(query, texts=texts)
        relevant_set = query.k is None
        exclude = {m for m, w in query.media if w > 0} | set(query.bad)
        if query.is_empty() and not exact:  # filters alone ("photos from 2019"): newest first
            return self.filtered(replace(query, k=query.k or self.ALL))
        if query.is_empty():  # only name filters: every match, newest first
            results = self._name_matches(query, exact, None)
            results.sort(key=lambda r: r.taken_at or 0.0, reverse=True)
            return results[: query.k] if query.k else results
        self._check_model()  # only now: filters alone never load a model (nor import torch)
        vector = self.query_vector(query)
        fetch = replace(query, k=self.CANDIDATES if relevant_set else query.k)
        results = self._ranked(vector, fetch, exclude, exact)
        if relevant_set and results:
            bulk = self._bulk_scores(vector)
            results = results[: relevant_count(np.array([r.score for r in results]), bulk)]
        if words:
            results = self._lift_words(vector, query, exclude, exact, words, results)
        if query.sort == "date":
            results.sort(key=lambda r: r.taken_at or 0.0, reverse=True)
        return results

    def _bulk_scores(self, vector: np.ndarray) -> np.ndarray:
        """The query's similarity to a fixed random sample of the library: its bulk."""
        model_id, count = self._embedder().model_id, self.catalog.media_count()
        sample = self._bulk_sample
        # taken again when the library has grown or shrunk by a fifth (a first search made
        # while the first photos were indexed must not speak for the whole library)
        if sample is None or sample[0] != model_id or abs(count - sample[2]) > sample[2] / 5:
            ids = self.catalog.sample_ids(self.BULK_SAMPLE)
            _, vectors, _ = self.catalog.vectors(model_id, ids=ids)
            sample = self._bulk_sample = (model_id, vectors, count)
        return sample[1] @ np.asarray(vector, np.float32) if len(sample[1]) else np.empty(0)

    def _video_times(self, labels_and_rows) -> dict[int, float]:
        """When in its video each matched moment is (label → seconds)."""
        return self.catalog.frame_times(
            self._embedder().model_id,
            [label for label, brief in labels_and_rows if brief.kind == "video"])

    def _name_matches(self, query: Query, exact, vector, ids=None) -> list[SearchResult]:
        """Photos whose paths match the exact filters (or, given `ids`, those of them the
        filters let through), scored by the query vector when there is one."""
        if ids is None:
            ids = self.catalog.ids_passing(Filters.of(query, names=exact), 2000)
        else:
            allowed = self.catalog.allowed_ids(Filters.of(query, names=exact))
            ids = [i for i in ids if allowed is None or i in allowed]
        rows = self.catalog.media_rows(ids)
        best: dict[int, tuple[float, int]] = {}  # media id → (similarity, label)
        if vector is not None and ids:
            got, vecs, _ = self.catalog.vectors(self._embedder().model_id, ids=ids)
            for label, sim in zip(got.tolist(), (vecs @ vector).tolist(), strict=True):
                media_id = split_label(label)[0]
                if media_id not in best or sim > best[media_id][0]:
                    best[media_id] = (sim, label)
        times = self._video_times((label, rows[m]) for m, (_, label) in best.items()
                                  if m in rows) if best else {}
        out = []
        for media_id in ids:
            row = rows.get(media_id)
            if row is None:
                continue
            if vector is not None and media_id not in best:
                continue  # no vector for this model yet
            sim, label = best.get(media_id, (1.0, media_id))
            out.append(result_of(label, sim, row, times))
        return out

    def _lift_words(self, vector, query: Query, exclude: set[int], exact, words, ranked
                    ) -> list[SearchResult]:
        """Merge photos that hold query words (names, keywords, place, text in the picture)
        into the ranking, lifted by the span of the scores times the share of words held."""
        hits = self.catalog.text_hits(words)
        if query.k is None:  # the relevant set takes in only photos holding every word
            hits = {m: found for m, found in hits.items() if len(found) == len(set(words))}
        merged = {r.media_id: r for r in ranked}
        for r in self._name_matches(query, exact, vector, ids=list(hits)):
            if r.media_id not in exclude:
                merged.setdefault(r.media_id, r)
        # one holding some of the typed words moves up that share of the span of the scores;
        # one holding every word comes strictly before every photo that does not, whatever
        # their similarity (all of them raised alike, so they keep their own order)
        scores = [r.score for r in merged.values()]
        span = max(max(scores, default=0.0) - min(scores, default=0.0), NAME_BOOST)
        wanted = len(set(words))
        held = {m: len(hits.get(m, ())) for m in merged}
        lifted = {m: r.score + span * held[m] / wanted for m, r in merged.items()}
        whole = [m for m in merged if held[m] == wanted]
        others = [lifted[m] for m in merged if held[m] < wanted]
        if whole and others:
            raise_by = max(0.0, max(others) - min(lifted[m] for m in whole)) + WORD_MARGIN
            lifted.update({m: lifted[m] + raise_by for m in whole})
        out = [replace(r, score=lifted[m]) for m, r in merged.items()]
        out.sort(key=lambda r: (-r.score, r.media_id))
        return out[: query.k] if query.k else out

    def _ranked(self, vector: np.ndarray, query: Query, exclude: set[int],
                exact: list[tuple[str, str]] = ()) -> list[SearchResult]:
        """The k best media for a vector among those the filters let through.

        The catalog says which media pass (Filters, in SQL) and the vector search looks among
        those only, so one search gives k results however few pass; it asks for just enough
        labels beyond k to cover videos' later moments and the excluded media."""
        searcher = self._searcher()
        allowed = self.catalog.allowed_ids(Filters.of(query, names=exact))
        fetch = query.k
        if allowed is None:
            fetch += len(exclude)
        else:
            allowed -= exclude
        fetch += searcher.moment_slack(fetch, allowed)
        labels, scores = (searcher.knn(vector, fetch) if allowed is None
                          else searcher.knn(vector, fetch, allowed))
        best = [hit for hit in best_per_media(labels, scores) if hit[1] not in exclude]
        best = best[: query.k]
        rows = self.catalog.media_rows([media_id for _, media_id, _ in best])
        times = self._video_times((label, rows[m]) for label, m, _ in best if m in rows)
        return [result_of(label, score, rows[m], times) for label, m, score in best if m in rows]

    # -- near-duplicates -------------------------------------------------------------
    def duplicates(self, threshold: float = 0.95, neighbours: int = 8) -> list[list[SearchResult]]:
        """Groups of near-duplicate photos (vector similarity ≥ threshold), largest first.

        Every member is at least `threshold` similar to its group's first photo (the pairs are
        taken most similar first), so chains of small steps never join unlike photos; a video
        takes part with its first moment only. Reports only; never deletes anything. Each
        result's score is its similarity to the group's first photo.
        """
        self._check_model()
        labels, vectors, _ = self.catalog.vectors(self._embedder().model_id)
        first = labels <= MEDIA_MASK  # frame 0, whose label is the media id
        ids, vectors = labels[first], vectors[first]
        by_id = dict(zip(ids.tolist(), vectors, strict=True))
        searcher = self._searcher()
        pairs: list[tuple[float, int, int]] = []
        for start in range(0, len(ids), 1024):
            found, sims = searcher.knn_many(vectors[start:start + 1024], neighbours + 1)
            for row, media_id in enumerate(ids[start:start + 1024].tolist()):
                for other, sim in zip(found[row].tolist(), sims[row].tolist(), strict=True):
                    if other in by_id and other != media_id and sim >= threshold \
                            and media_id < other:
                        pairs.append((sim, media_id, other))
        groups = group_by_seed(pairs, by_id, threshold)
        rows = self.catalog.media_rows([m for g in groups for m in g])
        return [[result_of(m, float(by_id[m] @ by_id[g[0]]), rows[m])
                 for m in g if m in rows] for g in groups]
