"""Where the relevant set of a query ends: from that query's own scores, not a fixed threshold.

A fixed similarity threshold fails across queries and models (a model's scores for "dog" and
for "receipt" live in different ranges). What holds is the shape: most of a library is unrelated
to a query and its scores form a bulk; the matches stand out above it, and between the last
match and the first non-match the score drops. So:

1. The bulk: median and MAD (scaled to a standard deviation) of the scores of the whole library,
   or of a fixed random sample of it on a big library.
2. Candidates: the ranked results whose robust z-score is at least `Z_CANDIDATE` — they stand out.
3. The set ends at the largest drop between consecutive scores among the candidates (the knee);
   when the results end before the candidates do (filters let few through), the drop from the
   last one down to the bulk counts as one of them.

Measured on the tests' trained model (24 kinds of picture, 5 of each; 34 queries of one, two or
all attributes): precision 0.98, recall 0.93 (`tests/test_cutoff.py` holds the measurement)."""

from __future__ import annotations

import numpy as np

Z_CANDIDATE = 1.0
MAD_TO_SD = 1.4826


def relevant_count(ranked: np.ndarray, bulk: np.ndarray | None = None,
                   z_candidate: float = Z_CANDIDATE) -> int:
    """How many of `ranked` (scores, best first) are the relevant set; `bulk` is the scores
    of the library (or a sample of it) to measure "standing out" against (default: ranked)."""
    ranked = np.asarray(ranked, dtype=np.float64)
    if len(ranked) <= 1:
        return len(ranked)
    bulk = ranked if bulk is None or len(bulk) < 3 else np.asarray(bulk, dtype=np.float64)
    median = float(np.median(bulk))
    spread = float(np.median(np.abs(bulk - median))) * MAD_TO_SD
    if spread <= 1e-12:  # every score the same: nothing stands out
        return len(ranked)
    candidates = int(np.sum((ranked - median) / spread >= z_candidate))
    if candidates <= 1:
        return 1
    if candidates == len(ranked):
        # the list ended (filters let few through) before the matches did: after the last
        # one comes the bulk
        ranked = np.append(ranked, median)
    last = min(len(ranked) - 1, candidates)  # the drop after the last candidate counts too
    drops = ranked[:last] - ranked[1:last + 1]
    return int(np.argmax(drops)) + 1
