"""The end of the relevant set, from each query's own scores (core/search/cutoff.py)."""

from __future__ import annotations

import numpy as np

from core.search.cutoff import relevant_count


def test_the_matches_that_stand_out_above_the_bulk_are_the_set():
    rng = np.random.default_rng(0)
    bulk = rng.normal(0.20, 0.03, 2000)
    for n in (1, 5, 12, 40):
        matches = rng.normal(0.36, 0.01, n)
        ranked = np.sort(np.concatenate([matches, bulk]))[::-1]
        assert relevant_count(ranked) == n, n


def test_the_bulk_can_be_a_sample_of_the_library():
    rng = np.random.default_rng(1)
    sample = rng.normal(0.20, 0.03, 500)
    top = np.sort(np.concatenate([rng.normal(0.4, 0.01, 7), rng.normal(0.20, 0.03, 93)]))[::-1]
    assert relevant_count(top, bulk=sample) == 7


def test_when_filters_leave_only_matches_they_all_stay():
    rng = np.random.default_rng(2)
    bulk = rng.normal(0.20, 0.03, 1000)
    for n in (2, 3, 5):
        assert relevant_count(np.sort(rng.normal(0.36, 0.01, n))[::-1], bulk) == n


def test_degenerate_score_lists():
    assert relevant_count(np.array([])) == 0
    assert relevant_count(np.array([0.3])) == 1
    assert relevant_count(np.full(10, 0.25)) == 10  # nothing stands out: all of them


def test_precision_and_recall_with_the_trained_model(trained_model):
    """34 queries of one, two or all attributes over 120 fresh pictures (5 of each kind)."""
    import open_clip
    import torch
    from helpers import draw_photo
    from ranking_model import CLASSES

    model, _, preprocess = open_clip.create_model_and_transforms(trained_model)
    tokenizer = open_clip.get_tokenizer(trained_model)
    model.eval()
    labels, pictures = [], []
    for i in range(5):
        for j, (colour, shape) in enumerate(CLASSES):
            size = (640, 480) if i % 3 else (480, 640)
            pictures.append(preprocess(draw_photo(colour, shape, size, seed=500_000 + 100 * i + j)))
            labels.append({colour, shape})
    queries = [({c, s}, f"a {c} {s}") for c, s in CLASSES]
    queries += [({c}, c) for c in sorted({c for c, _ in CLASSES})]
    queries += [({s}, f"a {s}") for s in sorted({s for _, s in CLASSES})]
    with torch.no_grad():
        images = torch.nn.functional.normalize(model.encode_image(torch.stack(pictures)), dim=-1)
        texts = torch.nn.functional.normalize(
            model.encode_text(tokenizer([q for _, q in queries])), dim=-1)
    scores = (texts @ images.T).numpy()
    precision = recall = 0.0
    for (wanted, _), row in zip(queries, scores, strict=True):
        order = np.argsort(-row)
        n = relevant_count(row[order])
        relevant = np.array([wanted <= label for label in labels])
        hits = relevant[order[:n]].sum()
        precision += hits / n
        recall += hits / relevant.sum()
    precision, recall = precision / len(queries), recall / len(queries)
    print(f"relevant set: precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.95 and recall >= 0.9
