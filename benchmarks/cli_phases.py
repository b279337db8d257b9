"""Where a CLI command's CPU goes, phase by phase: ``python -m benchmarks.cli_phases ARGS`` runs
``python -m engagement ARGS`` in this process with timers around its phases and prints, on stderr, one line per
phase (CPU of the whole process, every thread, and wall) after the command's own output.

Phases are exclusive (a phase's time inside another is counted once, in the inner one): the load's own phase is
what remains of it once the checks, the derived update and the snapshot publish inside it are taken out. "other" is
what no phase covers (argument parsing, reading the file's schema and planning its mapping, printing). The import of
Great Expectations, which the CLI runs on a background thread beside the database work, runs on the main thread
here, so that its CPU is not mixed into the phases it overlaps; the total CPU is the same. The process ends as
``python -m engagement`` does (``process_exit``); the few milliseconds after the report are not in it.
"""

from __future__ import annotations

import resource
import sys
import time

_STARTED_CPU, _STARTED_WALL = time.process_time(), time.perf_counter()
_phases: dict[str, list[float]] = {}  # name -> [exclusive CPU, exclusive wall]
_stack: list[list] = []  # [name, cpu at start, wall at start, children's cpu, children's wall]


class phase:
    """A timed block; nested blocks are subtracted from their parent."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> None:
        _stack.append([self.name, time.process_time(), time.perf_counter(), 0.0, 0.0])

    def __exit__(self, *exc) -> None:
        name, cpu0, wall0, child_cpu, child_wall = _stack.pop()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        totals = _phases.setdefault(name, [0.0, 0.0])
        totals[0] += cpu - child_cpu
        totals[1] += wall - child_wall
        if _stack:
            _stack[-1][3] += cpu
            _stack[-1][4] += wall


def timed(owner, attribute: str, name: str) -> None:
    """Replace ``owner.attribute`` (a function or method) with one timed as phase ``name``."""
    original = getattr(owner, attribute)

    def wrapper(*args, **kwargs):
        with phase(name):
            return original(*args, **kwargs)

    setattr(owner, attribute, wrapper)


def _instrument() -> None:
    from engagement.stand_ins import StandIn, defer_library_imports

    defer_library_imports()  # as python -m engagement does (engagement/__main__.py)
    # pandas, numpy and pyarrow, imported where the library first reads one of their names (if it does)
    timed(StandIn, "__getattr__", "import pandas, numpy or pyarrow at its first use")
    with phase("import duckdb"):
        import duckdb  # noqa: F401
    with phase("import engagement (CLI and what ingest/undo import)"):
        import engagement.cli  # noqa: F401
        import engagement.intake.ingest  # noqa: F401
        import engagement.derived  # noqa: F401
    from engagement.commands import common, intake
    from engagement.intake import gx_checks, sql_checks, validation
    from engagement.warehouse import snapshots
    from engagement.warehouse.store import Store

    background = intake._import_validation_in_background

    def import_here(total_bytes: int, without_spark: bool = False) -> None:
        if validation.choose_engine(total_bytes // intake._MIN_ROW_BYTES) == "great_expectations":
            with phase("import great_expectations" + (" (without pyspark)" if without_spark else "")):
                if without_spark:
                    from engagement.intake.gx_import import import_without_spark

                    import_without_spark()
                else:
                    import great_expectations  # noqa: F401
        else:
            background(total_bytes, without_spark)

    intake._import_validation_in_background = import_here
    for module in (common, intake):  # intake took its own reference at import
        timed(module, "open_store", "open the database (schema check, derived check)")
    timed(sql_checks, "run_sql_checks", "SQL checks of the suite")
    timed(gx_checks, "run_great_expectations", "Great Expectations run")
    timed(Store, "_load", "the load: file into its table, bookkeeping, commit")
    timed(Store, "undo", "the undo: rows out and back, bookkeeping, commit")
    timed(Store, "_refresh_derived", "derived update")
    timed(snapshots, "publish", "snapshot publish: copy the file, open and check the copy")
    copy_file = snapshots._copy_file

    def checkpoint_then_copy(store, incoming):
        with phase("CHECKPOINT (before the snapshot copy)"):
            with store._write_lock:
                store._connection.cursor().execute("CHECKPOINT").fetchall()
        return copy_file(store, incoming)

    snapshots._copy_file = checkpoint_then_copy
    import engagement.cli

    timed(engagement.cli, "close_opened_stores", "close the database")


def report() -> None:
    cpu, wall = time.process_time() - _STARTED_CPU, time.perf_counter() - _STARTED_WALL
    covered_cpu = sum(v[0] for v in _phases.values())
    covered_wall = sum(v[1] for v in _phases.values())
    print(f"{'phase':60s} {'CPU s':>7s} {'wall s':>7s}", file=sys.stderr)
    for name, (phase_cpu, phase_wall) in _phases.items():
        print(f"{name:60s} {phase_cpu:7.2f} {phase_wall:7.2f}", file=sys.stderr)
    print(f"{'other (arguments, the file schema and mapping, printing)':60s} {cpu - covered_cpu:7.2f} "
          f"{wall - covered_wall:7.2f}", file=sys.stderr)
    print(f"{'whole process (from the first import)':60s} {cpu:7.2f} {wall:7.2f}", file=sys.stderr)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{'child processes (the snapshot publish copies the file in one)':60s} "
          f"{children.ru_utime + children.ru_stime:7.2f}", file=sys.stderr)


def main() -> int:
    _instrument()
    from engagement.cli import main as cli_main

    code = cli_main(sys.argv[1:], one_command_process=True)  # as python -m engagement runs it
    report()
    return code


if __name__ == "__main__":
    from engagement.commands.process_exit import run_then_exit

    run_then_exit(main)  # ends as `python -m engagement` does
