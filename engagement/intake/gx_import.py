"""Importing Great Expectations without its Spark support, in a process that will never validate on Spark.

GX 1.24 imports pyspark whenever it is installed (``great_expectations.compatibility.pyspark``: pyspark, its
SQL functions and types, ML's Bucketizer, Spark Connect's DataFrame and session), and builds its Spark data
assets on top. We install pyspark for warehouse mode, so every GX import paid for it: measured on 2 shared cores
(3 runs each, CPU), pyspark's modules 0.33-0.37 s and GX's own Spark modules about 0.15 s more, of a 2.5-3.0 s
import. A pandas validation never touches any of it.

:func:`import_without_spark` blocks the import the way Python documents (``sys.modules["pyspark"] = None``
makes ``import pyspark`` raise ``ModuleNotFoundError``); GX treats pyspark as an optional dependency and records
it as not installed. The block is lifted right after, so a later ``import pyspark`` works, but GX itself stays
without Spark in that process. That is why only a process that runs one command which cannot reach Spark uses it
(``python -m engagement ingest``: loads write to DuckDB only), and :func:`require_spark_support` refuses, with
the reason, a Spark validation in a process where GX was imported this way (it would otherwise fail deep in GX).
The same import defers scipy.stats and altair, which GX imports for one expectation we never use: a stand-in
(``stand_ins.StandIn``) sits in ``sys.modules`` while GX is imported and imports the real module on its first use.
"""

from __future__ import annotations

import sys

from engagement.stand_ins import StandIn, end_deferral, take_out

_SPARK = "pyspark"

# Imported by one GX module (``expect_column_kl_divergence_to_be_less_than``: ``from scipy import stats``, ``import
# altair as alt``) and used only inside its methods, which no suite of ours calls: 0.56-0.62 and 0.17-0.20 s of
# CPU of every one-command process that validates with GX.
_DEFERRED = ("scipy.stats", "altair")


def import_without_spark() -> None:
    """Import Great Expectations with pyspark hidden from it and the modules of ``_DEFERRED`` deferred to their
    first use; a plain import when GX or pyspark is already imported (hiding then would change nothing, or break a
    pyspark someone uses)."""
    if "great_expectations" in sys.modules or _SPARK in sys.modules:
        import great_expectations  # noqa: F401
        return
    end_deferral()  # GX imports pandas, numpy and pyarrow: the library's deferred imports of them end here
    sys.modules[_SPARK] = None  # type: ignore[assignment]  # "import pyspark" now raises ModuleNotFoundError
    deferred = {name: StandIn(name) for name in _DEFERRED if name not in sys.modules}
    sys.modules.update(deferred)
    try:
        import great_expectations  # noqa: F401
    finally:
        if _SPARK in sys.modules and sys.modules[_SPARK] is None:
            del sys.modules[_SPARK]
        for stand_in in deferred.values():
            take_out(stand_in)


def gx_has_spark() -> bool:
    """Whether the Great Expectations imported in this process found pyspark (imports GX if needed)."""
    from great_expectations.compatibility import pyspark as gx_pyspark
    from great_expectations.compatibility.not_imported import NotImported

    return not isinstance(gx_pyspark.pyspark, NotImported)


def require_spark_support() -> None:
    """RuntimeError when GX was imported here without pyspark (:func:`import_without_spark`, or pyspark missing)."""
    if not gx_has_spark():
        raise RuntimeError("Great Expectations was imported in this process without Spark support (pyspark "
                           "missing or hidden for a DuckDB-only command); validate on Spark in its own process: "
                           "`python -m engagement validate --engine spark ...`.")
