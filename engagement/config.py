"""Where the database lives and how the workbench is allowed to use it.

Settings come from environment variables so that the app, the CLI and a notebook agree:

``ENGAGEMENT_DB``
    Path of the DuckDB file. Default: ``data/engagement.duckdb`` in the project folder.
``ENGAGEMENT_READ_ONLY``
    ``1``/``true`` opens the database read-only and hides every control that writes
    (for links shared with leadership).
``ENGAGEMENT_MAX_UPLOAD_MB``
    Largest export the Data page and the CLI accept. Default 2048.
``ENGAGEMENT_SNAPSHOTS``
    How many read-only snapshots (``<db>.snapshots/``) the writing process keeps; ``0`` publishes none.
    Default 3.
``ENGAGEMENT_ROLES_FILE``
    TOML file with the ``analyst`` and ``viewer`` e-mail addresses (see ``engagement/access.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_DB_PATH = DATA_DIR / "engagement.duckdb"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

_TRUE = {"1", "true", "yes", "on"}


def db_path() -> Path:
    """The database file the app and the CLI use unless told otherwise."""
    return Path(os.environ.get("ENGAGEMENT_DB", DEFAULT_DB_PATH))


def read_only() -> bool:
    """Whether this process must never write (shared read-only links)."""
    return os.environ.get("ENGAGEMENT_READ_ONLY", "").strip().lower() in _TRUE


def max_upload_bytes() -> int:
    return int(float(os.environ.get("ENGAGEMENT_MAX_UPLOAD_MB", "2048")) * 1024 * 1024)


def snapshots_kept() -> int:
    """How many read-only snapshots the writer keeps (0: none published)."""
    try:
        return max(0, int(os.environ.get("ENGAGEMENT_SNAPSHOTS", "3")))
    except ValueError:
        return 3
