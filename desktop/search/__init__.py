"""Searching and its answers: the search bar and its chips, pictures as queries, the Filters
menu, the search controller, the results grid, what can be done with results, and duplicates."""
