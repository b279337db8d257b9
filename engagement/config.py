"""Where the database lives and how the workbench is allowed to use it.

Settings come from environment variables so that the app, the CLI and a notebook agree:

``ENGAGEMENT_DB``
    Path of the brand's DuckDB file: the exports you load. Default: ``data/workbench.duckdb`` in the project
    folder. It is created by the first load; until then the app shows the demo.
``ENGAGEMENT_DEMO_DB``
    Path of the demo brand's DuckDB file, generated on first use. Default: ``demo.duckdb`` beside the brand's
    database. Kept apart so that a real shop's rows never mix with the demo's (order ids, currency).
``ENGAGEMENT_READ_ONLY``
    ``1``/``true`` opens the database read-only and hides every control that writes
    (for links shared with leadership).
``ENGAGEMENT_MAX_UPLOAD_MB``
    Largest export the Data page and the CLI accept. Default 2048.
``ENGAGEMENT_MEMORY_LIMIT``
    DuckDB's ``memory_limit`` for the whole process (one database instance per file), e.g. ``8GB``.
    Default: half the machine's memory, leaving the other half to Python (upload frames, page results).
``ENGAGEMENT_MAX_INFLATED_MB``
    Largest size a compressed export (.gz, .xlsx, .parquet) may have once inflated. Default: the upload
    limit, so a file is never accepted compressed whose content would be refused uncompressed.
``ENGAGEMENT_MAX_INFLATION_RATIO``
    Largest inflated / compressed size ratio above 64 MB inflated. Default 100: real exports compress
    5-15x with gzip; a file inflating 100x is almost all repetition (a decompression bomb).
``ENGAGEMENT_MAX_QUARANTINE_ROWS``
    Most failing rows one load may keep in quarantine; over it the file is refused. Default 100000.
``ENGAGEMENT_SNAPSHOTS``
    How many read-only snapshots (``<db>.snapshots/``) the writing process keeps; ``0`` publishes none.
    Default 3.
``ENGAGEMENT_ROLES_FILE``
    TOML file with the ``analyst`` and ``viewer`` e-mail addresses (see ``engagement/warehouse/access.py``).
``ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS``
    How many customers the churn model trains and holds out on (those with the smallest md5 of their id
    among the buyers before the cutoff). Default 100000. The load stores the default's features; another size
    computes its features when the model is fitted (a changed size refits at the next writable open).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_DB_PATH = DATA_DIR / "workbench.duckdb"
DEMO_DB_NAME = "demo.duckdb"
# Uploads are written here before DuckDB reads them: inside the folders the engine may read (see sandbox.py),
# and refused to notebook queries (they hold other people's raw exports).
SPOOL_DIR = DATA_DIR / "spool"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

_TRUE = {"1", "true", "yes", "on"}


def db_path() -> Path:
    """The brand's database file: what the CLI reads and writes unless told otherwise, and where uploads go."""
    return Path(os.environ.get("ENGAGEMENT_DB", DEFAULT_DB_PATH))


def demo_db_path() -> Path:
    """The demo brand's database file (``ENGAGEMENT_DEMO_DB``; default ``demo.duckdb`` beside the brand's)."""
    configured = os.environ.get("ENGAGEMENT_DEMO_DB", "").strip()
    return Path(configured) if configured else db_path().parent / DEMO_DB_NAME


def read_only() -> bool:
    """Whether this process must never write (shared read-only links)."""
    return os.environ.get("ENGAGEMENT_READ_ONLY", "").strip().lower() in _TRUE


def max_upload_bytes() -> int:
    return int(float(os.environ.get("ENGAGEMENT_MAX_UPLOAD_MB", "2048")) * 1024 * 1024)


def memory_limit() -> str:
    """DuckDB's ``memory_limit`` for the process's database instance (``ENGAGEMENT_MEMORY_LIMIT``)."""
    configured = os.environ.get("ENGAGEMENT_MEMORY_LIMIT", "").strip()
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: DuckDB's own default (80 %)
        return ""
    return f"{total // 2 // 2 ** 20}MiB"


def notebook_memory_bytes() -> int:
    """The operating-system memory cap of a notebook query's worker process (``ENGAGEMENT_NOTEBOOK_MEMORY_MB``)."""
    return int(float(os.environ.get("ENGAGEMENT_NOTEBOOK_MEMORY_MB", "1024")) * 2 ** 20)


def max_inflated_bytes() -> int:
    default = os.environ.get("ENGAGEMENT_MAX_UPLOAD_MB", "2048")
    return int(float(os.environ.get("ENGAGEMENT_MAX_INFLATED_MB", default)) * 1024 * 1024)


def max_inflation_ratio() -> float:
    return float(os.environ.get("ENGAGEMENT_MAX_INFLATION_RATIO", "100"))


def max_quarantine_rows() -> int:
    return int(os.environ.get("ENGAGEMENT_MAX_QUARANTINE_ROWS", "100000"))


def snapshots_kept() -> int:
    """How many read-only snapshots the writer keeps (0: none published)."""
    try:
        return max(0, int(os.environ.get("ENGAGEMENT_SNAPSHOTS", "3")))
    except ValueError:
        return 3


DEFAULT_CHURN_SAMPLE_CUSTOMERS = 100_000


def churn_sample_customers() -> int:
    """The churn model's training and holdout sample size (``ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS``)."""
    configured = os.environ.get("ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS", "").strip()
    if not configured:
        return DEFAULT_CHURN_SAMPLE_CUSTOMERS
    try:
        size = int(configured.replace("_", ""))
    except ValueError:
        size = 0
    if size < 50:  # churn.py refuses to fit on fewer than 50 customers anyway
        raise ValueError(f"ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS must be a whole number of at least 50 customers, "
                         f"not {configured!r}.")
    return size
