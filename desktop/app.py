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
    import multiprocessing

    multiprocessing.freeze_support()  # the frozen app's decoding child (core/media/imaging.py)

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from desktop.resources import icon_path
    from desktop.shell import entries
    from desktop.shell.instance import (SingleInstance, ask_running_instance, instance_name,
                                        quit_on_signals, raise_running_instance)
    from desktop.window.main import MainWindow

    parser = argparse.ArgumentParser(prog="snapseek-desktop")
    parser.add_argument("--home", help="library home (default: $SNAPSEEK_HOME or user data)")
    parser.add_argument("--model", help="model spec, as for `snapseek --model`")
    parser.add_argument("--hidden", action="store_true",
                        help="start in the tray without showing the window (start at login)")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add Snapseek to the desktop's application menu, then exit")
    args = parser.parse_args(argv)
    if args.install_desktop_entry:
        for path in entries.install_desktop_entry():
            print(f"wrote {path}")
        return 0
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Snapseek")
    app.setOrganizationName("Snapseek")
    app.setDesktopFileName(entries.APP_ID)
    from PySide6.QtCore import QSettings

    from desktop.shell.theme import apply_theme, follow_system

    theme = lambda: str(QSettings().value("theme", "system"))  # noqa: E731
    apply_theme(app, theme())  # light or dark, as the desktop (or Settings) says
    follow_system(app, theme)
    app.setWindowIcon(QIcon(str(icon_path("snapseek.png"))))
    name = instance_name(args.home)
    instance = None if ask_running_instance(name) else SingleInstance(name)
    if instance is None or not instance.listening:  # another launch was first: it stays
        if instance is not None and not raise_running_instance(name):
            print("Snapseek already has this library open.")
            return 0
        print("Snapseek already has this library open: its window was raised.")
        return 0
    sys.excepthook = _excepthook
    window = MainWindow(home=args.home, model=args.model)
    instance.setParent(window)
    instance.raise_requested.connect(window.bring_to_front)
    tray = window.enable_tray()
    # closing the window (without a tray) or Quit closes the library in the background; the
    # app ends once it is closed, not when the last window goes
    app.setQuitOnLastWindowClosed(False)
    window.session.closed.connect(app.quit)
    woken_by = quit_on_signals(window)  # a logout closes the library as Quit does (kept
    # until the app ends)
    if not (args.hidden and tray):
        window.show()
    window.start()
    code = app.exec()
    window.session.shut_down()  # the event loop ended some other way: the library still closes
    window.session.wait_closed()
    instance.close()  # its socket goes from the temporary folder
    del woken_by
    return code


if __name__ == "__main__":
    sys.exit(main())
