"""The command-line boundary: bad input becomes one line on stderr and exit code 2."""

import os
import sys


def run_cli(main, argv=None):
    """Calls `main(argv)`; a `ValueError` prints `prog: error: message` and exits with 2.

    Set `KERASEXT_TRACEBACK=1` to see the full traceback instead.
    """
    prog = os.path.basename(sys.argv[0] or "recipe")
    try:
        return main(argv)
    except ValueError as error:
        if os.environ.get("KERASEXT_TRACEBACK"):
            raise
        sys.stderr.write(f"{prog}: error: {' '.join(str(error).split())}\n")
        sys.exit(2)
