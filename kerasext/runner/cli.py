"""The command-line boundary: one line on stderr, exit 2 for bad input and 1 for a failure."""

import os
import sys

from kerasext import data
from kerasext.runner import errors, files, logs


def run_cli(main, argv=None):
    """Calls `main(argv)`; an exception becomes one line on stderr and an exit code.

    - The user's input (`kerasext.runner.UsageError`, or a `ValueError` before training
      started, see `kerasext.runner.errors`): `prog: error: message`, exit code 2
      (argparse's own errors look and exit the same). An image file of the user's data that
      passed the up-front check but failed to decode mid-run is the user's input too:
      `prog: error: Cannot read image PATH: ...` (`kerasext.data.unreadable_image`).
    - Anything else: `prog: failed: Type: message (last file written: path)`, exit code 1.

    Set `KERASEXT_TRACEBACK=1` to see the full traceback instead.
    """
    prog = os.path.basename(sys.argv[0] or "recipe")
    errors.reset()
    files.forget_written()
    try:
        return main(argv)
    except Exception as error:  # noqa: BLE001 - the boundary: every failure becomes one line
        logs.discard_held()  # what it had to say before: only the error is shown
        if os.environ.get("KERASEXT_TRACEBACK"):
            raise
        message = " ".join(str(error).split()) or repr(error)
        bad_image = data.unreadable_image(error)
        if bad_image:
            message = bad_image
        if bad_image or errors.is_input_error(error):
            sys.stderr.write(f"{prog}: error: {message}\n")
            sys.exit(2)
        last = files.last_written() or "none"
        sys.stderr.write(f"{prog}: failed: {type(error).__name__}: {message} (last file written: {last})\n")
        sys.exit(1)
