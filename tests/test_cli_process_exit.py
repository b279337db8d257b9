"""`python -m engagement` ends without the interpreter's teardown (engagement/commands/process_exit.py), and
keeps everything else a normal exit does: the exit code, all of the output, threads joined, exit handlers run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A module whose object says when it is destroyed: Python's teardown clears every module, so it speaks then.
CANARY = textwrap.dedent("""
    import os, sys, types

    class Canary:
        def __del__(self):
            os.write(2, b"torn down\\n")

    canary = types.ModuleType("canary")
    canary.value = Canary()
    sys.modules["canary"] = canary
""")


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    # Buffered output, as a user's shell gives it (PYTHONUNBUFFERED would hide an output left unflushed).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_the_cli_process_skips_the_teardown_and_keeps_its_exit_code_and_message(tmp_path):
    script = CANARY + textwrap.dedent(f"""
        import runpy
        sys.argv = ["engagement", "ingest", "orders", "no-such-file.csv", "--db", {str(tmp_path / "x.duckdb")!r}]
        runpy.run_module("engagement", run_name="__main__", alter_sys=True)
    """)
    done = _run(script, tmp_path)
    assert done.returncode == 1
    assert "error: No file at no-such-file.csv" in done.stderr
    assert "torn down" not in done.stderr  # the old `sys.exit(main())` tore the modules down


def test_run_then_exit_joins_threads_runs_exit_handlers_and_flushes_the_output(tmp_path):
    script = CANARY + textwrap.dedent("""
        import atexit, threading, time
        from engagement.commands.process_exit import run_then_exit

        def command():
            atexit.register(lambda: os.write(2, b"handler ran\\n"))
            threading.Thread(target=lambda: (time.sleep(0.2), os.write(2, b"thread finished\\n"))).start()
            print("x" * 200_000)  # more than the buffer: written at once
            print("last line")  # stays in the buffer of a piped stdout until it is flushed
            return 3

        run_then_exit(command)
    """)
    done = _run(script, tmp_path)
    assert done.returncode == 3
    assert done.stdout == "x" * 200_000 + "\nlast line\n"
    assert done.stderr.splitlines() == ["thread finished", "handler ran"]  # Python joins threads first


def test_an_uncaught_exception_prints_its_traceback_and_ends_with_1(tmp_path):
    script = textwrap.dedent("""
        from engagement.commands.process_exit import run_then_exit

        def command():
            raise RuntimeError("boom")

        run_then_exit(command)
    """)
    done = _run(script, tmp_path)
    assert done.returncode == 1
    assert "RuntimeError: boom" in done.stderr
