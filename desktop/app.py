"""`snapseek-desktop`: starts the Qt app; the window shows before torch is imported."""

from __future__ import annotations

import sys
import traceback


def _excepthook(exc_type, exc, tb) -> None:
    """Show unexpected errors in a dialog instead of vanishing."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(text)
    if QApplication.instance() is not None:
        box = QMessageBox(QMessageBox.Icon.Critical, "Snapseek: unexpected error",
                          f"{exc_type.__name__}: {exc}")
        box.setDetailedText(text)
        box.exec()


def main(argv: list[str] | None = None) -> int:
    import argparse

    from PySide6.QtWidgets import QApplication

    from .window import MainWindow

    parser = argparse.ArgumentParser(prog="snapseek-desktop")
    parser.add_argument("--home", help="library home (default: $SNAPSEEK_HOME or user data)")
    parser.add_argument("--model", help="model spec, as for `snapseek --model`")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Snapseek")
    app.setOrganizationName("Snapseek")
    sys.excepthook = _excepthook
    window = MainWindow(home=args.home, model=args.model)
    window.show()
    window.start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
