"""Helpers for driving the window in tests."""

from __future__ import annotations

from PySide6.QtCore import QTimer


def top_kinds(win, n=5):
    return [win.truth[r.path] for r in win.model.results()[:n]]


def wait_for_results(qtbot, win, previous_generation):
    qtbot.waitUntil(lambda: win.searching.shown_generation > previous_generation and
                    win.model.rowCount() > 0, timeout=30_000)


def close_window(qtbot, win, timeout=60_000):
    """Close the window and wait for its library to be closed (that happens in the background)."""
    if win.session.closing:  # closed already: its library is closed or closing
        win.close()
        assert win.session.wait_closed(timeout / 1000)
        return
    with qtbot.waitSignal(win.session.closed, timeout=timeout):
        win.close()


def after_posted_events(qtbot, timeout=5_000):
    """Return once every event posted so far has been handled: one posted now comes after
    them, so whatever they would have done (an answer, a second open) has been done."""
    handled = []
    QTimer.singleShot(0, lambda: handled.append(True))
    qtbot.waitUntil(lambda: bool(handled), timeout=timeout)
