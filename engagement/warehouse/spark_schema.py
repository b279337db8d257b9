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
last, so an interrupted build is never reused.

Two processes may build into one schema at once (two app servers opening a changed lake, or an app and a CLI
report). Each build therefore writes its tables into a directory of its own (``builds/<fingerprint>-<random>/``
under the schema's location), and the manifest names that directory: a finished build never has its files
overwritten by another, so the manifest, whichever build wrote it last, always points at one complete build whose
fingerprint it records. The catalog names ``<schema>.<table>`` are pointed at the finished build before its manifest
is written. A finished build removes the directories of other builds that are more than
:data:`KEEP_OLD_BUILDS_SECONDS` old and that the manifest does not name (another process may still be writing or
reading a recent one).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

_LOG = logging.getLogger(__name__)
MANIFEST = "workbench_build"
BUILDS = "builds"  # one directory per build under the schema's location
KEEP_OLD_BUILDS_SECONDS = 7 * 24 * 3600
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
        # This build's own directory: no other build writes into it (see the module docstring).
        self.build_dir = f"{self.location}/{BUILDS}/{fingerprint[:16]}-{uuid.uuid4().hex[:8]}"
        self.written: list[str] = []
        self.complete = True  # False once a table could not be written: no manifest then

    def _path(self, name: str) -> str:
        return f"{self.build_dir}/{name}"

    # ------------------------------------------------------------------ reuse
    def stored_tables(self) -> list[str] | None:
        """The tables of a finished build with this fingerprint, in build order; None when there is none. Reading
        them (:meth:`restore`) then reads that build's directory."""
        try:
            rows = self.session.read.parquet(f"{self.location}/{MANIFEST}").collect()
        except Exception:  # no manifest yet (AnalysisException: path does not exist), or one being rewritten
            return None
        if len(rows) != 1 or rows[0]["fingerprint"] != self.fingerprint or "build_dir" not in rows[0].asDict():
            return None
        self.build_dir = rows[0]["build_dir"]
        return list(rows[0]["tables"])

    def restore(self, tables: list[str]) -> None:
        """Each stored table as the temporary view the build would have made (cached when first read)."""
        for name in tables:
            self.session.read.parquet(self._path(name)).cache().createOrReplaceTempView(name)

    # ------------------------------------------------------------------ building
    def save(self, name: str, frame):
        """Write ``frame`` (a derived table the build just computed) into this build's directory and return it
        read back from there; ``frame`` itself when it cannot be written (the build goes on, nothing is reused)."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import NullType

        # Parquet has no NULL type: an all-NULL literal column is kept as STRING (read back as missing).
        frame = frame.select(*[F.col(f"`{f.name}`").cast("string").alias(f.name) if isinstance(f.dataType, NullType)
                               else F.col(f"`{f.name}`") for f in frame.schema.fields])
        path = self._path(name)
        try:
            frame.write.mode("overwrite").parquet(path)
        except Exception as exc:  # an unsupported type, a full disk: warn, keep the cached view
            _LOG.warning("derived table %s not persisted in %s: %s", name, self.schema, str(exc).splitlines()[0])
            self.complete = False
            return frame
        if name not in self.written:
            self.written.append(name)
        return self.session.read.parquet(path)

    def finish(self) -> bool:
        """Name this build's tables in the catalog, then write the manifest (last: a build interrupted before it
        is never reused), then remove old builds no manifest names. False when incomplete."""
        if not self.complete:
            return False
        for name in self.written:
            self.session.sql(f"DROP TABLE IF EXISTS `{self.schema}`.`{name}`")
            self.session.sql(f"CREATE TABLE `{self.schema}`.`{name}` USING parquet LOCATION '{self._path(name)}'")
        manifest = self.session.createDataFrame(
            [(self.fingerprint, datetime.now(timezone.utc).replace(tzinfo=None), self.written, self.build_dir)],
            "fingerprint string, built_at timestamp_ntz, tables array<string>, build_dir string")
        self.session.sql(f"DROP TABLE IF EXISTS `{self.schema}`.`{MANIFEST}`")
        manifest.coalesce(1).write.mode("overwrite").parquet(f"{self.location}/{MANIFEST}")
        self.session.sql(f"CREATE TABLE `{self.schema}`.`{MANIFEST}` USING parquet "
                         f"LOCATION '{self.location}/{MANIFEST}'")
        self.remove_old_builds()
        return True

    def remove_old_builds(self, older_than_seconds: float = KEEP_OLD_BUILDS_SECONDS) -> list[str]:
        """Delete the build directories other than this one that were last written more than
        ``older_than_seconds`` ago; their names. Through Hadoop's file system API, so any storage the session
        writes to; nothing is removed (and a warning logged) where that API is not reachable (Spark Connect)."""
        removed = []
        try:
            jvm, conf = self.session._jvm, self.session._jsc.hadoopConfiguration()
            root = jvm.org.apache.hadoop.fs.Path(f"{self.location}/{BUILDS}")
            fs = root.getFileSystem(conf)
            if not fs.exists(root):
                return removed
            keep = self.build_dir.rstrip("/").rsplit("/", 1)[-1]
            cutoff_ms = (time.time() - older_than_seconds) * 1000
            for status in fs.listStatus(root):
                name = status.getPath().getName()
                if name != keep and status.getModificationTime() < cutoff_ms:
                    fs.delete(status.getPath(), True)
                    removed.append(name)
        except Exception as exc:  # no JVM gateway: old builds stay, which costs only disk
            _LOG.warning("old derived builds in %s not removed: %s", self.schema, str(exc).splitlines()[0])
        return removed
