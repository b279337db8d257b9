"""How large a compressed export becomes once inflated, measured before anything reads it.

A 1.4 MB gzip inflating to 400 MB used 3.4 GB of memory and stored 6.26M quarantine rows (issue 14). Each
compressed format is sized without inflating it into memory:

* gzip: inflated in 1 MB chunks and counted, stopping as soon as the bound is passed (the size in the
  gzip trailer is modulo 4 GB and per member, so it cannot be trusted);
* XLSX (a zip): the uncompressed sizes the zip declares for its members; Python's ``zipfile``, which
  openpyxl reads through, never returns more than a member declares;
* Parquet: the uncompressed size of every row group, from the file's metadata.

The bound is ``ENGAGEMENT_MAX_INFLATED_MB`` (default: the upload limit), and above 64 MB also
``ENGAGEMENT_MAX_INFLATION_RATIO`` times the compressed size (default 100; see ``engagement.config``).
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from engagement import config

RATIO_FLOOR_BYTES = 64 * 1024 * 1024  # below this any ratio is fine: a small repetitive file is no threat
_CHUNK = 1024 * 1024
_MB = 1024 * 1024


def inflation_bound(compressed_bytes: int) -> int:
    """The most bytes a file of ``compressed_bytes`` may inflate to."""
    by_ratio = max(RATIO_FLOOR_BYTES, int(config.max_inflation_ratio() * compressed_bytes))
    return min(config.max_inflated_bytes(), by_ratio)


def _gzip_size(path: Path, stop_after: int) -> int:
    """Inflated bytes of a gzip file, counted up to just past ``stop_after`` (memory: one chunk)."""
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while total <= stop_after:
                chunk = handle.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
    except (OSError, EOFError, zipfile.BadZipFile):
        pass  # a broken stream is reported by the reader, with its own message
    return total


def zip_size(path) -> int:
    """Declared uncompressed bytes of every member of a zip (a path or a binary file object)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        return 0


def _parquet_metadata(path: Path):
    """The Parquet footer as pyarrow reads it, None for a file it cannot read (the reader reports why)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata
    except Exception:  # pyarrow raises several types for a broken file
        return None


def _parquet_size(path: Path) -> int:
    metadata = _parquet_metadata(path)
    if metadata is None:
        return 0
    return sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))


def parquet_rows(path: Path) -> int | None:
    """The rows a Parquet file's footer counts (None when pyarrow cannot read it)."""
    metadata = _parquet_metadata(path)
    return None if metadata is None else int(metadata.num_rows)


def inflation_problem(path: Path, file_format: str, name: str) -> str | None:
    """Why ``path`` must not be read (it inflates past the bound), in words naming the limit; else None."""
    if file_format not in ("csv.gz", "xlsx", "parquet"):
        return None
    compressed = path.stat().st_size
    bound = inflation_bound(compressed)
    if file_format == "csv.gz":
        inflated = _gzip_size(path, bound)
    elif file_format == "xlsx":
        inflated = zip_size(path)
    else:
        inflated = _parquet_size(path)
    if inflated <= bound:
        return None
    ratio = inflated / max(compressed, 1)
    at_least = "at least " if file_format == "csv.gz" else ""
    if bound == config.max_inflated_bytes():
        limit = (f"over the {bound / _MB:,.0f} MB limit on an export's inflated size (ENGAGEMENT_MAX_INFLATED_MB). "
                 "Split the export by date range, or raise the limit")
    else:
        limit = (f"over {config.max_inflation_ratio():g} times its compressed size (ENGAGEMENT_MAX_INFLATION_RATIO, "
                 f"here {bound / _MB:,.0f} MB). Real exports compress 5-15x; a file inflating this much is almost "
                 "all repetition (a decompression bomb). Export the data again, or upload it uncompressed")
    return (f"{name} was not read: its {compressed / _MB:,.1f} MB inflate to {at_least}{inflated / _MB:,.0f} MB "
            f"({at_least}{ratio:,.0f}x), {limit}.")
