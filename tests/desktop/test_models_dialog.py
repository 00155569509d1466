"""Settings shows the table of offered models; a licence that is not open is asked about once."""

from __future__ import annotations

import pytest

MOBILECLIP = "MobileCLIP2-S2:dfndr2b"
MOBILECLIP_S0 = "MobileCLIP2-S0:dfndr2b"


@pytest.fixture
def settings(qapp):
    from PySide6.QtCore import QSettings

    s = QSettings()
    s.remove("model")
    s.remove("licences")
    yield s
    s.remove("model")
    s.remove("licences")


@pytest.fixture
def asked(monkeypatch):
    """QMessageBox.question answered by the test: set .answer; .titles counts the questions."""
    from PySide6.QtWidgets import QMessageBox

    class Asked:
        answer = QMessageBox.StandardButton.No
        titles: list[str] = []
        texts: list[str] = []

    Asked.titles, Asked.texts = [], []

    def question(parent, title, text, *args, **kw):
        Asked.titles.append(title)
        Asked.texts.append(text)
        return Asked.answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return Asked


def row_of(dialog, spec: str) -> int:
    from core.model.offered import MODELS

    return [m.spec for m in MODELS].index(spec)


def selected(dialog) -> list[int]:
    return [i.row() for i in dialog.models.selectionModel().selectedRows()]


def test_the_table_shows_every_model_with_licence_languages_quality_speed(qtbot, settings):
    from core.model.offered import DEFAULT_MODEL, MODELS
    from desktop.dialogs.settings import MODEL_COLUMNS, SettingsDialog

    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    table = dialog.models
    assert table.rowCount() == len(MODELS)
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == MODEL_COLUMNS
    for row, m in enumerate(MODELS):
        cells = [table.item(row, c).text() for c in range(table.columnCount())]
        assert cells[0].startswith(m.name)
        assert cells[1].startswith(m.licence) and ("(not open)" in cells[1]) == (not m.open)
        assert cells[2] == m.languages
        assert (f"{m.coco_t2i_r1}%" in cells[4]) == (m.coco_t2i_r1 is not None)
        assert cells[5] == (f"{m.photos_per_s} photos/s" if m.photos_per_s else "not measured")
    default = row_of(dialog, DEFAULT_MODEL)
    assert "default" in table.item(default, 0).text() and table.item(default, 0).font().bold()
    assert sum("default" in table.item(r, 0).text() for r in range(table.rowCount())) == 1
    # a new profile starts on the default
    assert selected(dialog) == [default] and dialog.model.text() == DEFAULT_MODEL


def test_a_research_licence_is_shown_and_asked_once(qtbot, settings, asked):
    from PySide6.QtWidgets import QMessageBox

    from core.model.offered import DEFAULT_MODEL
    from desktop.dialogs.settings import SettingsDialog

    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.models.selectRow(row_of(dialog, MOBILECLIP))  # declined: back to the default
    assert len(asked.titles) == 1 and "Apple-AMLR" in asked.titles[0]
    assert "for the sole purpose of scientific research" in asked.texts[0]
    assert selected(dialog) == [row_of(dialog, DEFAULT_MODEL)]
    assert dialog.model.text() == DEFAULT_MODEL

    asked.answer = QMessageBox.StandardButton.Yes
    dialog.models.selectRow(row_of(dialog, MOBILECLIP))
    assert len(asked.titles) == 2 and dialog.model.text() == MOBILECLIP
    dialog.models.selectRow(row_of(dialog, MOBILECLIP_S0))  # same licence: not asked again
    assert len(asked.titles) == 2 and dialog.model.text() == MOBILECLIP_S0
    dialog.accept()
    assert settings.value("model") == MOBILECLIP_S0

    again = SettingsDialog()  # remembered across dialogs (QSettings)
    qtbot.addWidget(again)
    again.models.selectRow(row_of(again, MOBILECLIP))
    assert len(asked.titles) == 2 and again.model.text() == MOBILECLIP


def test_a_licence_typed_by_hand_is_asked_too(qtbot, settings, asked):
    from desktop.dialogs.settings import SettingsDialog

    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.model.setText(MOBILECLIP)
    dialog.accept()  # declined: the dialog stays open, nothing stored
    assert len(asked.titles) == 1 and dialog.result() == 0
    assert settings.value("model") is None


def test_ok_without_a_new_model_keeps_the_library_on_its_own(qtbot, settings, asked):
    """A library made with MobileCLIP (an older default) stays on it when Settings is only
    opened and closed: no model is stored, and its licence is not asked about."""
    from desktop.dialogs.settings import SettingsDialog

    dialog = SettingsDialog(current_model=MOBILECLIP)
    qtbot.addWidget(dialog)
    assert selected(dialog) == [row_of(dialog, MOBILECLIP)]
    dialog.threads.setValue(2)
    dialog.accept()
    assert settings.value("model") is None and asked.titles == []
    assert int(settings.value("threads")) == 2
    settings.remove("threads")
