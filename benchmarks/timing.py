"""The benchmarks' timing, shared by the scripts: medians over repeated runs, wall clock and CPU, of this process,
of the child processes it waited for, or of a process tree; and a CLI run timed in a new process."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn: Callable[[], object], runs: int) -> float:
    """Median wall-clock seconds of ``runs`` calls of ``fn``."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def median_seconds(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds of this process (all DuckDB threads included).

    On a shared, overloaded machine the wall clock mostly measures waiting for a core; CPU time shows
    the work itself.
    """
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


class Took:
    """Wall and CPU seconds of a block (CPU of this process, or of the child processes it waited for)."""

    def __init__(self, children: bool = False):
        self.who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF

    def _cpu(self) -> float:
        usage = resource.getrusage(self.who)
        return usage.ru_utime + usage.ru_stime

    def __enter__(self) -> "Took":
        self.started, self.cpu_started = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.started, self._cpu() - self.cpu_started

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"

    def against(self, other: "Took", percent: bool = False) -> str:
        """This block's wall and CPU time as a ratio of ``other``'s (a share, with ``percent``)."""
        if percent:
            return f"{self.wall / other.wall:.1%} (CPU {self.cpu / other.cpu:.1%})"
        return f"{self.wall / other.wall:.2f}x (CPU {self.cpu / other.cpu:.2f}x)"


def cli(*args: str, db: Path, phases: bool = False, env: dict[str, str] | None = None) -> tuple[Took, dict]:
    """Run ``python -m engagement ARGS --db DB`` in a new process: its time, its JSON output. ``phases``: run it
    through ``benchmarks.cli_phases`` and print where its CPU went; ``env``: more environment variables."""
    module = "benchmarks.cli_phases" if phases else "engagement"
    with Took(children=True) as took:
        done = subprocess.run([sys.executable, "-m", module, *args, "--db", str(db)], cwd=ROOT,
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
    if phases:
        table = done.stderr[done.stderr.rfind("\nphase ") + 1:]  # the table cli_phases prints last
        print("\n".join(f"    {line}" for line in table.splitlines()))
    return took, json.loads(done.stdout)


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system, with children already waited for) of ``root`` and every live descendant."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = sum(int(v) for v in fields[11:15]) / tick
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total
