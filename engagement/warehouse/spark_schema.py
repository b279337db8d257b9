"""The workbench's own schema on Spark: the derived tables persisted, and reused while their inputs are unchanged.

Without it (the default) warehouse mode keeps the derived tables as cached temporary views, and every process
that opens the mapping builds them again: minutes on a local session, the app's start included. With
``ENGAGEMENT_SPARK_SCHEMA=<name>`` each derived table is also written as Parquet under that schema's location
(``CREATE DATABASE IF NOT EXISTS <name>``: ``spark-warehouse/<name>.db/`` on a local session, the catalog's
storage on a cluster) and registered there as ``<name>.<table>``, and a manifest (``<name>.workbench_build``)
records what they were built from. The next process whose fingerprint matches reads them back instead of
building: the brand's tables are still only read, and the workbench writes only into its own schema.

The fingerprint covers the table mapping, this version's derived SQL and model settings
(``engagement.derived.derived_fingerprint``), the DuckDB->Spark rules and engine (the source of
``spark_sql.py``, ``engine.py``, ``spark_store.py``), and each mapped source's input files (``DataFrame.inputFiles``:
names, and size and modification time for local files). A source with no input files (a SQL view over a
non-file table) cannot be fingerprinted: its derived tables are rebuilt at every open. The manifest is written
last, so an interrupted build is never reused. Two processes building into one schema at the same time are not
guarded against: give each mapping its own schema.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

_LOG = logging.getLogger(__name__)
MANIFEST = "workbench_build"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def schema_name(given: str | None = None) -> str | None:
    """``given``, else ``$ENGAGEMENT_SPARK_SCHEMA``; None (cached views only) when neither is set."""
    name = (given or os.environ.get("ENGAGEMENT_SPARK_SCHEMA", "")).strip()
    if not name:
        return None
    if not _NAME.match(name):
        raise ValueError(f"ENGAGEMENT_SPARK_SCHEMA={name!r} is not a plain schema name (letters, digits, _).")
    return name


def _local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme in ("", "file") else None


def input_fingerprint(input_files: dict[str, tuple[str, ...]], mapping_text: str,
                      derived_fingerprint: str) -> str | None:
    """sha256 of everything the derived tables are computed from (see the module docstring); None when a
    mapped source has no input files to fingerprint. ``input_files``: each mapped table's ``inputFiles()``, taken
    before the table is cached (a cached plan names none)."""
    parts = [mapping_text, derived_fingerprint]
    here = Path(__file__).parent
    for module in ("spark_sql.py", "engine.py", "spark_store.py", "spark_schema.py"):
        parts.append(hashlib.sha256((here / module).read_bytes()).hexdigest())
    for kind in sorted(input_files):
        files = sorted(input_files[kind])
        if not files:
            return None
        for uri in files:
            local = _local_path(uri)
            stat = local.stat() if local is not None and local.exists() else None
            parts.append(f"{kind} {uri} {stat.st_size if stat else ''} {stat.st_mtime_ns if stat else ''}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class PersistedBuild:
    """The derived tables of one mapping in the workbench's schema (see the module docstring)."""

    def __init__(self, session, schema: str, fingerprint: str):
        self.session = session
        self.schema = schema
        self.fingerprint = fingerprint
        session.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
        self.location = session.catalog.getDatabase(schema).locationUri.rstrip("/")
        self.written: list[str] = []
        self.complete = True  # False once a table could not be written: no manifest then

    def _path(self, name: str) -> str:
        return f"{self.location}/{name}"

    # ------------------------------------------------------------------ reuse
    def stored_tables(self) -> list[str] | None:
        """The tables of a finished build with this fingerprint, in build order; None when there is none."""
        try:
            rows = self.session.read.parquet(self._path(MANIFEST)).collect()
        except Exception:  # no manifest yet (AnalysisException: path does not exist)
            return None
        if len(rows) != 1 or rows[0]["fingerprint"] != self.fingerprint:
            return None
        return list(rows[0]["tables"])

    def restore(self, tables: list[str]) -> None:
        """Each stored table as the temporary view the build would have made (cached when first read)."""
        for name in tables:
            self.session.read.parquet(self._path(name)).cache().createOrReplaceTempView(name)

    # ------------------------------------------------------------------ building
    def save(self, name: str, frame):
        """Write ``frame`` (a derived table the build just computed) as ``<schema>.<name>`` and return it read
        back from there; ``frame`` itself when it cannot be written (the build goes on, nothing is reused)."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import NullType

        # Parquet has no NULL type: an all-NULL literal column is kept as STRING (read back as missing).
        frame = frame.select(*[F.col(f"`{f.name}`").cast("string").alias(f.name) if isinstance(f.dataType, NullType)
                               else F.col(f"`{f.name}`") for f in frame.schema.fields])
        path = self._path(name)
        try:
            self.session.sql(f"DROP TABLE IF EXISTS `{self.schema}`.`{name}`")
            frame.write.mode("overwrite").parquet(path)
            self.session.sql(f"CREATE TABLE `{self.schema}`.`{name}` USING parquet LOCATION '{path}'")
        except Exception as exc:  # an unsupported type, a full disk: warn, keep the cached view
            _LOG.warning("derived table %s not persisted in %s: %s", name, self.schema, str(exc).splitlines()[0])
            self.complete = False
            return frame
        if name not in self.written:
            self.written.append(name)
        return self.session.read.parquet(path)

    def finish(self) -> bool:
        """Write the manifest (last: a build interrupted before it is never reused). False when incomplete."""
        if not self.complete:
            return False
        manifest = self.session.createDataFrame(
            [(self.fingerprint, datetime.now(timezone.utc).replace(tzinfo=None), self.written)],
            "fingerprint string, built_at timestamp_ntz, tables array<string>")
        self.session.sql(f"DROP TABLE IF EXISTS `{self.schema}`.`{MANIFEST}`")
        manifest.coalesce(1).write.mode("overwrite").parquet(self._path(MANIFEST))
        self.session.sql(f"CREATE TABLE `{self.schema}`.`{MANIFEST}` USING parquet LOCATION '{self._path(MANIFEST)}'")
        return True
