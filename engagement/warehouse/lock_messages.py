"""What to do when another process holds the database file, said for the case at hand.

DuckDB lets one process write a database file, and no other process open it while one writes; while any
process has it open read-only, no process can write it. Its lock error names the holder's PID and says
when the holder is read-only ("you would be able to open this database in read-only mode"). From the PID's
command line we tell the workbench app (``streamlit run``) from a workbench command
(``python -m engagement ...``) and say what to do in each case.
"""

from __future__ import annotations

import re
from pathlib import Path


def _holder_command(pid: int | None) -> list[str]:
    """The holder's command line as arguments (empty when it cannot be read: another OS, or it ended)."""
    if pid is None:
        return []
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _describe(pid: int | None, args: list[str]) -> tuple[str, str]:
    """(what the holder is, in words; its kind: ``app``, ``command`` or ``other``)."""
    where = f"PID {pid}" if pid is not None else "PID unknown"
    if any(a == "streamlit" or a.endswith("/streamlit") for a in args):
        return f"the workbench app ({where})", "app"
    for i, arg in enumerate(args[:-1]):
        if arg == "-m" and args[i + 1] == "engagement":
            sub = " ".join(args[i + 2:i + 3])
            return f"the command `python -m engagement {sub}`".rstrip() + f" ({where})", "command"
    shown = " ".join(args)[:80]
    return f"another process ({where}{': ' + shown if shown else ''})", "other"


def lock_message(path: str, error: str, opening_read_only: bool) -> str:
    """The sentence for a DuckDB lock error ``error`` met opening ``path`` (read-only or for writing)."""
    match = re.search(r"\(PID (\d+)\)", error)
    pid = int(match.group(1)) if match else None
    holder, kind = _describe(pid, _holder_command(pid))
    if "open this database in read-only mode" in error:  # the holder has it open read-only; we want to write
        return (f"The database {path} is open read-only in {holder}, and DuckDB cannot write a file that any "
                "other process has open, even read-only. Stop that process (a read-only app serving shared "
                "links, a report or a notebook), load, then start it again: a read-only app shows new loads "
                "only once restarted.")
    prefix = f"The database {path} is in use by another process: {holder} holds it for writing"
    reading = ", and DuckDB lets no other process open a file while one writes it" if opening_read_only else ""
    if kind == "app":
        return (f"{prefix}{reading}. Load files through the app's Data page (the same validation, quarantine "
                "and undo) and read the numbers there, or stop the app and run this again.")
    if kind == "command":
        return f"{prefix}{reading}. Wait for that command to finish, then run this again."
    return (f"{prefix}{reading}. If it is the workbench app, load through its Data page or stop it; if it is a "
            "command or a notebook, wait for it to finish or close its connection; then try again.")
