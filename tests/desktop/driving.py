"""Helpers for driving the window in tests."""

from __future__ import annotations


def top_kinds(win, n=5):
    return [win.truth[r.path] for r in win.model.results()[:n]]


def wait_for_results(qtbot, win, previous_generation):
    qtbot.waitUntil(lambda: win._shown_generation > previous_generation and
                    win.model.rowCount() > 0, timeout=30_000)
