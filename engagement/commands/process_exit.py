"""Ending a ``python -m engagement`` process without the interpreter's teardown.

A command's work is done when its stores are closed and its output is written; Python then tears down every
imported module one by one. With Great Expectations imported (a small file's validation), that teardown cost
0.5-0.9 s of CPU, measured on a weekly orders file's ``ingest`` (7.60 s of CPU with it, 6.75 s without): 2-4 % of
the 5M-order full load whose share issue 20 budgets at 15 %, for freeing memory the OS frees anyway.

:func:`run_then_exit` keeps everything a normal exit does that anyone can observe: non-daemon threads are joined
and every ``atexit`` handler runs (Python does both before the handlers registered first, and this one is
registered before anything is imported), the output streams are flushed, and the exit code is the command's (an
uncaught exception prints its traceback and ends with 1, as Python does). Only the teardown is skipped, through
``os._exit``. Stores the command opened are closed by ``cli.main`` (``close_opened_stores``) before it returns.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Callable, NoReturn

_exit_code = 1  # until the command returns: an uncaught exception ends with 1, as Python's own exit does


def _end_now() -> None:
    """The last exit handler: flush the output and end the process without tearing down the modules."""
    code = _exit_code
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # no console (pythonw)
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: Python's exit reports 120 when stdout cannot be flushed
            code = code or 120
    os._exit(code)


def run_then_exit(command: Callable[[], int]) -> NoReturn:
    """Run ``command`` (which does its own imports) and exit with the code it returns; see the module docstring."""
    global _exit_code
    atexit.register(_end_now)  # registered first, so run last: after every handler the imports register
    try:
        _exit_code = command()
    except SystemExit as exc:  # argparse, or a command's SystemExit("error: ..."): Python prints the message
        _exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    except KeyboardInterrupt:
        _exit_code = 130  # the shell's code for a command ended by Ctrl-C
        raise
    sys.exit(_exit_code)
