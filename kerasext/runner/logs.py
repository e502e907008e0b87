"""kerasext's own log lines (the strategy chosen, a resume, ...) on stderr, for the command line.

Nothing here runs at import: `show_logs` is called by `setup`, the start of every recipe run.
"""

import logging
import sys

LOGGER = "kerasext"


class HeldLog(logging.Handler):
    """Shows log lines on the current stderr, holding them back while paused.

    (`logging.Handler` has `acquire`/`release` for its lock: hence `pause` / `show_held`.)
    """

    def __init__(self):
        super().__init__(logging.INFO)
        self._held = None

    def pause(self):
        self._held = []

    def show_held(self):
        held, self._held = self._held or [], None
        for record in held:
            self.emit(record)

    def emit(self, record):
        if self._held is not None:
            self._held.append(record)
        else:
            sys.stderr.write(self.format(record) + "\n")


_handler = HeldLog()


def show_logs():
    """Shows the `kerasext` logger's INFO lines on stderr (once per process). Returns the handler."""
    logger = logging.getLogger(LOGGER)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # absl puts a handler on the root logger
    return _handler


def pause():
    """Holds kerasext's lines back until `show_held`: a bad input prints only its error."""
    show_logs().pause()


def show_held():
    _handler.show_held()


def discard_held():
    """Drops the lines held back (a bad input prints only its error) and shows later ones."""
    _handler._held = None
