"""Modules imported on their first use: a stand-in that ``import x`` binds, which imports ``x`` when one of its names is
first read and from then on holds the real module's names itself.

Two uses, both in a process that runs one command (``python -m engagement``), where import time is part of what the
user waits for:

- ``intake.gx_import``: Great Expectations imports scipy.stats and altair for one expectation no suite of ours uses.
  Their stand-ins sit in ``sys.modules`` while GX is imported (GX's ``import`` statements find them there) and are
  taken out right after, and by the first use.
- :func:`defer_library_imports`: the library's own ``import pandas as pd`` (numpy, pyarrow) binds a stand-in that is
  never in ``sys.modules``, so a command that reads no DataFrame does not import them. ``undo`` reads none: its CPU
  on a small database went 0.92-0.94 -> 0.64-0.69 s (3 alternated runs each), which is 0.25-0.30 s of the 5M-order
  undo that issue 20 budgets at 15 % of the full load. Another package's import of them, and DuckDB's (its
  ``.df()`` imports pandas from C, with a list as ``fromlist``), get the real module as always; so does any import
  once the real module is loaded. While the hook is installed every import statement of the process passes through
  it, which makes each one dearer: it removes itself once the three are imported, and a command that will need them
  ends it first (:func:`end_deferral`; Great Expectations' import).

Python 3.11's ``importlib.util.LazyLoader`` cannot do either: the import system reads a lazy module's ``__spec__``,
which loads it. Installing a stand-in in ``sys.modules`` for the whole command would not do either: DuckDB binds a
query's parameters by asking ``sys.modules`` whether pandas is loaded, and then reads its names (which loads it).
"""

from __future__ import annotations

import builtins
import importlib
import sys
import threading
import types

_LOCK = threading.Lock()  # guards taking a stand-in out of sys.modules
_hook: list = []  # (hook, the __import__ it replaced) while defer_library_imports' hook is installed


class StandIn(types.ModuleType):
    """Stands for the module ``name``; the first read of a name it lacks imports the real module and copies its names
    in (an attribute the real module lacks raises AttributeError, as it would)."""

    def __getattr__(self, attribute: str):
        take_out(self)  # one in sys.modules would be found again by the import below
        real = importlib.import_module(self.__name__)
        if real is self:  # pragma: no cover (take_out removed it)
            raise ImportError(f"{self.__name__} is still a stand-in")
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def take_out(stand_in: StandIn) -> None:
    """Remove ``stand_in`` from ``sys.modules`` if it is there (two threads at once: one removes it)."""
    with _LOCK:
        if sys.modules.get(stand_in.__name__) is stand_in:
            del sys.modules[stand_in.__name__]


def defer_library_imports(names: tuple[str, ...] = ("pandas", "numpy", "pyarrow"), package: str = "engagement") -> None:
    """From now on, ``import <name>`` (the plain statement, ``import pandas as pd``) in a module of ``package`` binds a
    stand-in while the real module is not imported, until :func:`end_deferral`.

    Only the plain statement of the package's modules: ``from pandas import X``, ``import pandas.api.types``, other
    packages' imports and imports from C (``fromlist`` a list, not None) all import the real module."""
    end_deferral()
    stand_ins = {name: StandIn(name) for name in names if name not in sys.modules}
    real_import = builtins.__import__
    prefix = package + "."

    def import_(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.partition(".")[0] in stand_ins:
            if (fromlist is None and name in stand_ins and name not in sys.modules and globals is not None
                    and str(globals.get("__name__", "")).startswith(prefix)):
                return stand_ins[name]
            module = real_import(name, globals, locals, fromlist, level)
            if all(deferred in sys.modules for deferred in stand_ins):
                end_deferral()  # every one of them imported: nothing left to defer
            return module
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = import_
    _hook[:] = [import_, real_import]


def end_deferral() -> None:
    """Stop deferring, in a command that will import them anyway (Great Expectations imports pandas): every import
    statement goes through the hook while it is installed, and a Python-level ``__import__`` makes each one dearer
    (Great Expectations' import took 0.27 s more CPU with a hook that only passes the call on: medians of 7
    alternated runs, 1.79 against 1.52 s). Stand-ins already bound keep working (they import on first use)."""
    if _hook:
        hook, real_import = _hook
        if builtins.__import__ is hook:
            builtins.__import__ = real_import
        _hook.clear()
