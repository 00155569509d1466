"""Search: query vectors, the vector index and its store, ranking, the cut-off and explaining."""
