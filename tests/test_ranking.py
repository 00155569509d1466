"""Ranking by meaning, proven with a tiny model trained on synthetic pictures (CLI and core)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import make_photo, run_cli
from ranking_model import CLASSES


def search(home, *args):
    return json.loads(run_cli("search", *args, "--json", home=home).stdout)


def precision_at_5(results, truth, want) -> float:
    return sum(truth[r["path"]] == want for r in results[:5]) / 5


def test_text_queries_put_matching_pictures_on_top(ranked_photos):
    from core.library import Library
    from core.types import Query

    home, _, truth = ranked_photos
    with Library(home) as lib:
        scores = []
        for colour, shape in CLASSES:
            results = [r.to_json() for r in lib.search(Query.text(f"a {colour} {shape}", k=5))]
            scores.append(precision_at_5(results, truth, (colour, shape)))
    assert np.mean(scores) >= 0.9, scores


def test_text_query_through_the_cli(ranked_photos):
    home, _, truth = ranked_photos
    for colour, shape in [("red", "circle"), ("blue", "stripe"), ("green", "triangle")]:
        results = search(home, f"a photo of a {colour} {shape}", "-k", "5")
        assert precision_at_5(results, truth, (colour, shape)) >= 0.8


def test_image_queries_find_pictures_of_the_same_kind(ranked_photos, tmp_path):
    home, _, truth = ranked_photos
    hits = []
    for j, (colour, shape) in enumerate(CLASSES[::3]):
        query = make_photo(tmp_path / f"q{j}.jpg", colour, shape, seed=900_000 + j)
        results = search(home, "--image", str(query), "-k", "5")
        hits.append(precision_at_5(results, truth, (colour, shape)))
    assert np.mean(hits) >= 0.9, hits


def test_negative_terms_push_matches_down(ranked_photos):
    home, _, truth = ranked_photos
    plain = search(home, "red", "-k", "20")
    minus = search(home, "red - circle", "-k", "20")

    def circles_in_top(results, n=5):
        return sum(truth[r["path"]] == ("red", "circle") for r in results[:n])

    assert circles_in_top(plain) >= 1
    assert circles_in_top(minus) < circles_in_top(plain)
    assert all(truth[r["path"]][0] == "red" for r in minus[:5])


def test_text_plus_image_combines_both(ranked_photos, tmp_path):
    home, _, truth = ranked_photos
    query = make_photo(tmp_path / "blue-square.jpg", "blue", "square", seed=4242)
    image_only = search(home, "--image", str(query), "-k", "5")
    assert all(truth[r["path"]] == ("blue", "square") for r in image_only[:3])
    both = search(home, "2:circle", "--image", str(query), "-k", "5")
    top = [truth[r["path"]] for r in both[:3]]
    # the text pulls the shape toward circles while the image keeps the colour blue
    assert ("blue", "circle") in top, top
    assert sum(c == "blue" for c, _ in top) >= 2, top


def test_more_like_this_returns_the_same_kind(ranked_photos):
    from core.library import Library
    from core.types import Query

    home, _, truth = ranked_photos
    with Library(home) as lib:
        hits = []
        for colour, shape in CLASSES[::4]:
            seed = lib.search(Query.text(f"{colour} {shape}", k=1))[0]
            similar = lib.similar(seed.media_id, k=4)
            assert seed.media_id not in [r.media_id for r in similar]
            hits.append(np.mean([truth[r.path] == truth[seed.path] for r in similar]))
    assert np.mean(hits) >= 0.9, hits


def test_folder_filter_still_ranks_correctly(ranked_photos):
    home, photos, truth = ranked_photos
    results = search(home, "a yellow triangle", "-k", "2", "--folder", str(photos / "home"))
    assert len(results) == 2
    assert all("/home/" in r["path"] and truth[r["path"]] == ("yellow", "triangle")
               for r in results)


def test_truncated_text_encoding_equals_full_with_trained_model(trained_model):
    from core.model.embedder import Embedder

    emb = Embedder.load(trained_model, text_precision="fp32")  # the exactness claim is fp32's
    texts = ["red", "a photo of a purple stripe", "the green square"]
    assert np.allclose(emb.encode_text(texts, truncate=True), emb.encode_text(texts, truncate=False),
                       atol=1e-5)


def test_draft_decoded_embedding_is_close_to_full_decode(trained_model, tmp_path):
    from PIL import Image

    from core.media.imaging import open_image
    from core.model.embedder import Embedder

    emb = Embedder.load(trained_model)
    sims = []
    for j, (colour, shape) in enumerate(CLASSES[::5]):
        path = make_photo(tmp_path / f"big{j}.jpg", colour, shape, size=(3000, 2000), seed=j)
        fast = open_image(path, emb.image_size).image
        assert max(fast.size) < 3000  # draft really decoded at reduced scale
        with Image.open(path) as im:
            full = im.convert("RGB")
        a, b = emb.encode_images([fast, full])
        sims.append(float(a @ b))
    assert min(sims) >= 0.99, sims


@pytest.mark.parametrize("k", [1, 10, 50])
def test_index_gives_the_same_top_results_as_exact_search(ranked_photos, k):
    from core.library import Library
    from core.search.scoring import ExactSearch

    home, _, _ = ranked_photos
    with Library(home) as lib:
        ids, mat, _ = lib.catalog.vectors(lib.embedder.model_id)
        exact = ExactSearch(ids, mat)
        for colour, shape in CLASSES[::2]:
            q = lib.embedder.encode_text([f"a {colour} {shape}"])[0]
            got, _ = lib.index.knn(q, k)
            want, _ = exact.knn(q, k)
            assert set(got.tolist()) == set(want.tolist())
