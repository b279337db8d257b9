"""One file's (or frame's) run through the intake, once it is open: plan, type, validate, load or refuse.

Map to canonical columns (``sources``) -> type and flag (``staging``) -> validate with the kind's suite
(``validation``, Great Expectations or its SQL translation by size) -> load in one transaction
(``Store.load_table``), or a rejected / validate-only result that says why.

A clean delimited file takes one pass (:func:`_load_in_one_pass`): typed straight from the file into
its table inside the load's transaction and validated there; any failing check or any cell that needs
the forgiving parsers rolls that attempt back, and the file takes the two passes above (typed into a
temporary table and validated, so that failing rows can be quoted with their row numbers).

What happened is an :class:`IngestResult` (counts, report, notes and the message in words). Opening the
file, the batch, spooling uploads and the cursor's lifetime belong to the entry points (``ingest``);
the archive copy to ``archive``.
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb
import pandas as pd

from engagement import config, metrics
from engagement.warehouse.access import Actor
from engagement.warehouse.load_dependencies import IMPLYING_KINDS
from engagement.intake import archive, folding, readers
from engagement.intake import float_written_ids, saved_mappings, sources
from engagement.intake import staging
from engagement.intake import sql_checks, suites, validation
from engagement.intake.readers import FileRejected, ReadInfo
from engagement.intake.source_plan import SourcePlan
from engagement.warehouse.loading import LoadSummary
from engagement.warehouse.store import Store
from engagement.intake.suites import ValidationReport

FAILING_ROWS_LIMIT = 200_000

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file: status, counts, the validation report and the reason in words."""

    status: str  # "loaded", "rejected" or, for validate-only runs, "valid" / "invalid"
    kind: str
    file_name: str
    message: str
    source_format: str | None = None
    sha256: str | None = None
    read_info: ReadInfo | None = None
    report: ValidationReport | None = None
    summary: LoadSummary | None = None
    rows_read: int = 0
    notes: tuple[str, ...] = ()
    archive_path: str | None = None
    failing_rows: pd.DataFrame | None = field(default=None, compare=False, hash=False)

    @property
    def rows_rejected(self) -> int:
        return self.rows_read if self.status in ("rejected", "invalid") else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON summary for the CLI (snake_case keys)."""
        summary = self.summary
        return {
            "status": self.status, "kind": self.kind, "file_name": self.file_name, "message": self.message,
            "source_format": self.source_format, "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_loaded": summary.rows_loaded if summary else 0,
            "rows_updated": summary.rows_updated if summary else 0,
            "rows_quarantined": summary.rows_quarantined if summary else 0,
            "rows_rejected": self.rows_rejected,
            "load_id": summary.load_id if summary else None,
            "archive_path": self.archive_path,
            "notes": list(self.notes),
            "validation": self.report.as_dict() if self.report else None,
        }

def _rejection_message(report: ValidationReport, rows: int, on_invalid: str) -> str:
    limit = config.max_quarantine_rows()
    if not report.file_errors and on_invalid == "quarantine" and report.failing_row_count > limit:
        return (f"Rejected: {report.failing_row_count:,} of {rows:,} rows fail validation, more than the "
                f"{limit:,} rows one load may keep in quarantine (ENGAGEMENT_MAX_QUARANTINE_ROWS). Nothing was "
                "loaded. So many failures usually mean a wrong column mapping or the wrong export kind: check "
                "the first failing rows, fix the export, and load it again.")
    if report.file_errors:
        problems = "; ".join(f"{r.description} ({r.note or 'failed'}) - {r.fix}" for r in report.file_errors)
        return f"Rejected: the file fails a file-level check: {problems}. Nothing was loaded."
    problems = "; ".join(
        f"{r.description}: {r.unexpected_count:,} row(s)" for r in report.row_errors if r.unexpected_count
    )
    hint = (" Fix them (download the failing rows), or load with on-invalid = quarantine to load the "
            f"{rows - report.failing_row_count:,} valid rows and keep these in quarantine.")
    return (f"Rejected: {report.failing_row_count:,} of {rows:,} rows fail validation ({problems}). "
            f"Nothing was loaded.{hint if on_invalid == 'reject' else ''}")


def _plan(cur: duckdb.DuckDBPyConnection, kind: str, info: ReadInfo, source: str,
          mapping: dict[str, str] | None, suite: suites.Suite) -> SourcePlan:
    """How the file's columns map to the kind's canonical columns (a saved mapping for the same header)."""
    mapping_notes: tuple[str, ...] = ()
    if mapping is None and source == "auto":
        saved = saved_mappings.mapping_for_header(cur, kind, info.columns)
        if saved is not None:
            mapping = saved["mapping"]
            mapping_notes = (f"Used the saved column mapping '{saved['name']}' (same header).",)
    plan = sources.plan(kind, info.columns, source, info.decimal_comma, mapping, required=suite.required_columns,
                        column_types=dict(zip(info.columns, info.column_types)) if info.column_types else None,
                        lazy_csv=info.reader_options is not None)
    if plan.row_preserving:  # a folding plan is looked at once its rows are written (_stage_and_validate)
        readers.text_view(cur, info)
        plan = float_written_ids.integer_ids(cur, kind, plan)
    return dataclasses.replace(plan, notes=mapping_notes + plan.notes)


def _stage_and_validate(store: Store, cur: duckdb.DuckDBPyConnection, kind: str, info: ReadInfo,
                        plan: SourcePlan, progress: Progress, engine: str | None,
                        file_name: str, suite: suites.Suite, strict_customers: bool = False,
                        text_first: bool = False
                        ) -> tuple[staging.StagedInput, ValidationReport, ReadInfo, SourcePlan]:
    """``text_first``: the one-pass attempt found rows that fail or need the forgiving parse, so the text table
    will be read: it is read first and the rows typed from it (one read of the file, not two)."""
    text = folding.FileText(cur, info, file_name, plan.read_columns)
    staged = None
    if text_first and text.deferred and plan.row_preserving:
        text()
    if plan.typed_fold is not None and not text.deferred:
        progress("folding and typing the lines", 0.35)
        staged, plan, _ = folding.stage_typed(cur, kind, plan, strict_customers=strict_customers, suite=suite)
    elif plan.typed_csv is not None and text.deferred and store.batch_cursor() is None:
        # Not in a batch: a typed read that fails would end the batch's transaction.
        progress("folding and typing the lines", 0.35)
        staged, plan = folding.stage_typed_csv(cur, kind, plan, text, strict_customers=strict_customers,
                                                   suite=suite) or (None, plan)
    if staged is None:
        text.info = readers.text_view(cur, text.info)  # the text path reads raw_input
        if not plan.row_preserving:
            plan = folding.write_folded(cur, kind, plan, text)
        progress("reading and typing the columns", 0.35)
        # Reading straight from the file: a CSV error surfaces in the typing query.
        with readers.unreadable_text_rejected(file_name, info.delimiter, info) if text.deferred else nullcontext():
            staged = staging.stage(cur, kind, plan.select_sql, info.decimal_comma,
                                   read_text=text if text.deferred else None, strict_customers=strict_customers)
    progress(f"validating {staged.rows:,} rows", 0.5)
    checked_columns = staged.columns + staged.parse_flags + staged.computed
    if engine is None and text.info.rows:
        # The GX row limit counts the rows of the file, as the README states it: a line-item file over it is
        # validated by the suite's SQL translation, like any file of that size, although its folded orders are
        # fewer. Measured on Online Retail (541,909 lines, 25,900 orders, 2 cores): GX costs 0.15-0.4 s whatever
        # the row count (100 rows: 0.30 s, 25,900: 0.41 s under load), as much as the rest of the intake; the
        # SQL checks evaluate every expectation of the same suite in 0.02 s.
        engine = validation.choose_engine(max(staged.rows, text.info.rows))
    unique = frozenset(e.index for e in suite.expectations if e.type == "expect_column_values_to_be_unique"
                       and set(e.columns) <= set(staged.unique))  # nothing to find: not looked for
    report = validation.validate_checked(cur, suite, checked_columns, staged.columns, staged.rows, engine=engine,
                                         read_text=text if text.deferred else None, enforced=unique,
                                         first_percentiles=dict(staged.first_percentiles))
    info = text.info
    if info.rows is None:  # typed straight from the file, one row per file row, text never needed
        info = dataclasses.replace(info, rows=staged.rows, deferred_select=None)
    return staged, report, info, plan


class _NotInOnePass(Exception):
    """The rows written in one pass fail a check: the load is rolled back and takes the two-pass path."""

    def __init__(self, rows_fail: bool):
        super().__init__()
        self.rows_fail = rows_fail  # (else a file-level check failed: nothing to quote)


# What the strict view raises on a row that fails a check or needs the forgiving parse (staging.stage_strict).
_ROW_REFUSALS = ("a row fails a check", "needs the forgiving parse")


def _load_in_one_pass(store: Store, cur: duckdb.DuckDBPyConnection, kind: str, info: ReadInfo,
                      plan: SourcePlan, *, file_name: str, sha256_of: Callable[[], str | None],
                      progress: Progress, engine: str | None, archive_of: Callable[[], str | None] | None,
                      refresh_derived: bool, source_label: str | None, suite: suites.Suite,
                      strict_customers: bool = False, actor: Actor | None = None,
                      fell_back: set[str] | None = None) -> IngestResult | None:
    """Load a clean file writing every row once: typed straight from the file into its table, validated
    there, in the load's transaction. None (nothing loaded, nothing archived) when any cell needs the
    forgiving parsers or any check fails: the caller then takes the two-pass path, which types the
    file into a temporary table, validates it and quotes failing rows with their row numbers
    (``"text needed"`` is added to ``fell_back`` when rows fail or need the forgiving parse: that path reads
    the text).

    Measured on a 5M-row orders CSV: the two-pass path wrote every row twice (temporary table, then
    the table) and validated the temporary copy: 1.9-2.1x DuckDB's bare read of the file; one pass
    writes once, and the checks read the stored, compressed rows faster (README, Benchmarks).
    """
    enforced: set[int] = set()

    def failing_row_sql(columns: tuple[str, ...]) -> str | None:
        sql, indices = sql_checks.row_failure_sql(suite, columns, suites.run_parameters(suite=suite))
        enforced.update(indices)
        return sql

    try:
        columns = staging.stage_strict(cur, kind, plan.select_sql, info.decimal_comma, failing_row_sql)
    except duckdb.Error:
        return None  # unreadable head: the two-pass path says why
    if columns is None:
        return None
    checked: dict[str, Any] = {}

    def check_loaded(load_cur: duckdb.DuckDBPyConnection, load_id: int, rows: int) -> dict[str, Any]:
        progress(f"validating {rows:,} rows", 0.5)
        staged = staging.stage_loaded(load_cur, kind, columns, load_id, rows, strict_customers=strict_customers)
        report = validation.validate_checked(load_cur, suite, staged.columns + staged.parse_flags + staged.computed,
                                             staged.columns, rows, engine=engine, locate_failures=False,
                                             enforced=frozenset(enforced))
        if report.file_errors or report.failing_row_count:
            raise _NotInOnePass(bool(report.failing_row_count))
        sha256 = sha256_of()
        progress("archiving the raw file", 0.7)
        archive_path = archive_of() if archive_of is not None else None  # published once the load commits
        read = dataclasses.replace(info, rows=rows, deferred_select=None,
                                   notes=info.notes + _implied_customers_note(load_cur, kind, columns)
                                   + _no_currency_note(kind, columns))
        checked.update(report=report, rows=rows, sha256=sha256, archive_path=archive_path, info=read)
        progress("refreshing derived tables and committing", 0.8)
        return {"sha256": sha256, "rows_read": rows,
                "validation_summary": _load_record(report, read.notes + plan.notes, archive_path, read)}

    progress("reading, typing and writing the rows", 0.35)
    try:
        summary = store.load_table(kind, cur, staging.STRICT_ROWS, list(columns), file_name=file_name,
                                   source_format=source_label or plan.source, refresh_derived=refresh_derived,
                                   check_loaded=check_loaded, actor=actor)
    except BaseException as exc:
        fell_back = fell_back if fell_back is not None else set()
        if isinstance(exc, _NotInOnePass):
            if exc.rows_fail:
                fell_back.add("text needed")
            return None
        if not isinstance(exc, duckdb.Error) or checked:  # read and checked: a failure after that is not the file's
            raise
        # A cell needs the forgiving parse or a row fails (the two passes read the text), or the file cannot be
        # read as typed (they say why).
        if any(refusal in str(exc) for refusal in _ROW_REFUSALS):
            fell_back.add("text needed")
        return None
    if store.batch_cursor() is None:  # in a batch: published once the batch commits (ingest.ingest_files)
        archive.publish_archive(checked["archive_path"])
    progress("done", 1.0)
    rows = checked["rows"]
    return IngestResult(
        "loaded", kind, file_name, _loaded_message(summary, rows),
        source_format=source_label or plan.source, sha256=checked["sha256"], read_info=checked["info"],
        report=checked["report"], summary=summary, rows_read=rows, notes=checked["info"].notes + plan.notes,
        archive_path=checked["archive_path"],
    )


def run_one_file(store: Store, kind: str, cur: duckdb.DuckDBPyConnection, info: ReadInfo, *, file_name: str,
         sha256_of: Callable[[], str | None], source: str, on_invalid: str, mapping: dict[str, str] | None,
         dry_run: bool, progress: Progress, engine: str | None, archive_of: Callable[[], str | None] | None,
         refresh_derived: bool = True, source_label: str | None = None,
         strict_customers: bool = False, actor: Actor | None = None) -> IngestResult:
    try:
        # Read once per load (each read and parse of the suite's JSON cost 0.1-0.4 ms on every load, three times).
        suite = suites.load_suite(kind)
        plan = _plan(cur, kind, info, source, mapping, suite)
        # One pass rolls back its own attempt when a row fails; inside a batch that would end the batch's
        # transaction, so a batch validates every file before writing it (two passes).
        fell_back: set[str] = set()
        if not dry_run and plan.row_preserving and info.deferred_select is not None and store.batch_cursor() is None:
            loaded = _load_in_one_pass(store, cur, kind, info, plan, file_name=file_name, sha256_of=sha256_of,
                                       progress=progress, engine=engine, archive_of=archive_of,
                                       refresh_derived=refresh_derived, source_label=source_label, suite=suite,
                                       strict_customers=strict_customers, actor=actor, fell_back=fell_back)
            if loaded is not None:
                return loaded
        staged, report, info, plan = _stage_and_validate(store, cur, kind, info, plan, progress, engine, file_name,
                                                         suite, strict_customers=strict_customers,
                                                         text_first="text needed" in fell_back)
    except (readers.QuotedLineBreaks, readers.MixedLineEndings):
        raise  # read again in one thread, or through a copy with one kind of line ending (ingest_file)
    except FileRejected as exc:
        return IngestResult("rejected" if not dry_run else "invalid", kind, file_name, str(exc),
                            sha256=sha256_of(), read_info=info, notes=info.notes)
    sha256 = sha256_of()
    folded = ((f"{info.rows:,} line(s) made {staged.rows:,} order(s).",)
              if kind == "orders" and not plan.row_preserving and info.rows else ())
    float_ids = _float_formatted_unknown_ids(cur, staged.columns) if strict_customers else ()
    # Quarantined rows do not load: the counts leave them out (Online Retail's 2 quarantined orders have no customer
    # id, and the note said 3,710 guest orders where 3,708 loaded, the number the Data page shows after).
    quarantined = bool(report.failing_row_count) and on_invalid == "quarantine"
    notes = info.notes + plan.notes + folded + _implied_customers_note(
        cur, kind, staged.columns, None if quarantined else staged.activity, loaded_only=quarantined) + tuple(
        f"{column}: dates read {order.replace('_', ' ')} (d/m/y)" if order == "day_first" else
        f"{column}: slash dates read month first (m/d/y)" for column, order in staged.date_orders
    ) + float_ids + _no_currency_note(kind, staged.columns)
    source_format = source_label or plan.source
    failing = None if not report.failing_row_count else report.sample_failures if (  # all of them quoted already
        len(report.sample_failures) == report.failing_row_count) else validation.failing_rows(
        cur, FAILING_ROWS_LIMIT, source=validation.QUOTED_TABLE)
    over_quarantine = on_invalid == "quarantine" and report.failing_row_count > config.max_quarantine_rows()
    rejected = bool(report.file_errors) or (report.row_errors and on_invalid == "reject") or over_quarantine
    common = dict(kind=kind, file_name=file_name, source_format=source_format, sha256=sha256, read_info=info,
                  report=report, rows_read=staged.rows, notes=notes, failing_rows=failing)
    if dry_run:
        status = "invalid" if rejected else "valid"
        message = _rejection_message(report, staged.rows, on_invalid) if rejected else (
            f"Valid: {staged.rows:,} rows pass every check." if report.success else
            f"{report.failing_row_count:,} of {staged.rows:,} rows fail; with on-invalid = quarantine the other "
            f"{staged.rows - report.failing_row_count:,} would load.")
        return IngestResult(status, message=message, **common)
    if rejected:
        message = " ".join((_rejection_message(report, staged.rows, on_invalid),) + float_ids)
        return IngestResult("rejected", message=message, **common)

    if info.file_format != "parquet":
        # The failing rows' text is quoted already (validation.quote_failures): free the text copy before the
        # load needs memory (a Parquet file's text is a view over the file: nothing to free).
        readers.drop_temp(cur, staging.MAPPED_TABLE, readers.RAW_TABLE, "raw_unnumbered")
    progress("archiving the raw file", 0.7)
    archive_path = archive_of() if archive_of is not None else None  # published once the load commits
    progress("loading in one transaction", 0.8)
    columns = list(staged.columns)
    column_sql = ", ".join(f'"{c}"' for c in columns)
    without_failures = (
        f" WHERE NOT EXISTS (SELECT 1 FROM {sql_checks.FAILURES_TABLE} f WHERE f.file_row = c.file_row)"
        if report.failing_row_count else ""
    )
    sampled = report.sample_failures
    if 0 < report.failing_row_count == len(sampled) and "row_number" in sampled.columns:
        # The report's sample holds every failing row: their numbers written in, a filter instead of a join
        # (0.5 ms of CPU on Online Retail's 2 of 25,900 orders); a row without a number is kept, as by NOT EXISTS
        listed = ", ".join(str(int(n)) for n in sampled["row_number"])
        without_failures = f" WHERE NOT coalesce(c.file_row IN ({listed}), false)"
    # Read once, by the load's INSERT: a subquery, not a view made for it (0.5 ms of CPU on Online Retail)
    valid_rows = f"(SELECT {column_sql} FROM {staging.NUMBERED_ROWS} c{without_failures})"
    quarantine_sql = None
    if report.failing_row_count:
        quarantine_sql = f"SELECT row_number, reason, row_json FROM {validation.QUOTED_TABLE}"
    summary = store.load_table(
        kind, cur, valid_rows, columns, quarantine_sql=quarantine_sql, file_name=file_name, sha256=sha256,
        source_format=source_format, rows_read=staged.rows,
        validation_summary=_load_record(report, notes, archive_path, info), refresh_derived=refresh_derived,
        actor=actor,
    )
    if store.batch_cursor() is None:  # in a batch: published once the batch commits (ingest.ingest_files)
        archive.publish_archive(archive_path)
    progress("done", 1.0)
    return IngestResult("loaded", message=_loaded_message(summary, staged.rows), summary=summary,
                        archive_path=archive_path, **common)


def _no_currency_note(kind: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """Orders without a currency column (Online Retail's, which are pounds): they name no currency, and the pages
    show amounts in the currency other orders name, or without a sign; the note says how to name it."""
    if kind != "orders" or "currency" in columns:
        return ()
    return ("The file has no currency column, so its orders name no currency: amounts are shown in the currency "
            "other loaded orders name, or without a currency sign. To name it, load the file "
            f"{metrics.NAME_THE_CURRENCY}.",)


# A checked row that validation did not locate as failing (``row_failures``): with quarantine, the rows that load.
_NOT_FAILING = f"{staging.ROW_COLUMN} NOT IN (SELECT {staging.ROW_COLUMN} FROM {sql_checks.FAILURES_TABLE})"


def _implied_customers_note(cur: duckdb.DuckDBPyConnection, kind: str, columns: tuple[str, ...],
                            counted: tuple[int, int] | None = None, loaded_only: bool = False) -> tuple[str, ...]:
    """A note counting the customer ids of this file that no customers export has loaded (implied customers).

    ``counted``: (those ids, rows without a customer id) when the staging pass measured them (StagedInput.activity).
    ``loaded_only``: the rows validation located as failing (``row_failures``: quarantined) are not counted.
    """
    if kind == "customers" or "customer_id" not in columns:
        return ()
    # The file's ids grouped first, then looked up: one lookup per customer, not per row (5M orders of 500k
    # customers: 0.37 CPU s instead of 0.75).
    implied, guests = counted if counted is not None else cur.execute(
        "SELECT count(*) FILTER (WHERE customer_id IS NOT NULL AND customer_id NOT IN "
        "(SELECT customer_id FROM main.customers)), coalesce(sum(rows) FILTER (WHERE customer_id IS NULL), 0) "
        f"FROM (SELECT customer_id, count(*) AS rows FROM {staging.CHECKED_TABLE} "
        + (f"WHERE {_NOT_FAILING} " if loaded_only else "") + "GROUP BY customer_id)").fetchall()[0]
    notes = []
    if implied and kind not in IMPLYING_KINDS:  # messages: the brand's sends make no customer
        notes.extend(_unnamed_recipients_note(cur, loaded_only))
    elif implied:
        notes.append(f"{implied:,} customer id(s) are in no customers export: they are kept as implied customers "
                     "(a customer exists when any activity names the id; a customers export adds attributes later).")
    if guests and kind == "orders":
        notes.append(f"{guests:,} guest order(s) have no customer id: kept, counted in revenue and order totals, "
                     "left out of customer-level views.")
    return tuple(notes)


def _unnamed_recipients_note(cur: duckdb.DuckDBPyConnection, loaded_only: bool) -> tuple[str, ...]:
    """Messages naming ids that neither a customers export nor any activity (orders, events, surveys, assignments,
    this transaction's included) names: they load, but make no customer. Run only when the file has ids missing
    from the customers table, which are few on a brand that loads its customers."""
    tables = " UNION ALL ".join(f"SELECT customer_id FROM main.{kind}" for kind in ("customers",) + IMPLYING_KINDS)
    unnamed = cur.execute(
        f"SELECT count(DISTINCT customer_id) FROM {staging.CHECKED_TABLE} WHERE customer_id IS NOT NULL "
        + (f"AND {_NOT_FAILING} " if loaded_only else "")
        + f"AND customer_id NOT IN ({tables})").fetchall()[0][0]
    if not unnamed:
        return ()
    return (f"{unnamed:,} customer id(s) are in no customers export and named by no order, event, survey or "
            "experiment assignment: their messages load, but a message alone does not make a customer, so "
            "customer-level views leave them out until an export or activity names them.",)


def _float_formatted_unknown_ids(cur: duckdb.DuckDBPyConnection, columns: tuple[str, ...]) -> tuple[str, ...]:
    """Strict mode: a note when unknown customer ids match known ones once a float's ``.0`` is dropped on
    either side (``17850.0`` against ``17850``): the refusal's cause is the format, not missing customers."""
    if "customer_id" not in columns:
        return ()
    found = cur.execute(
        f"""SELECT u.customer_id, k.customer_id, count(*) OVER ()
            FROM (SELECT DISTINCT customer_id FROM {staging.CHECKED_TABLE} WHERE NOT customer_is_known) u
            JOIN main.customers k
              ON regexp_replace(u.customer_id, '\\.0+$', '') = regexp_replace(k.customer_id, '\\.0+$', '')
            ORDER BY 1 LIMIT 1""").fetchall()
    if not found:
        return ()
    theirs, ours, count = found[0]
    return (f"{count:,} unknown customer id(s) differ from known customers only by float formatting "
            f"({theirs!r} in this file, {ours!r} stored): a spreadsheet or pandas wrote the ids as floats. "
            "Export the ids as text or whole numbers (or load the customers export the same way) and load again.",)

def _load_record(report: ValidationReport, notes: tuple[str, ...], archive_path: str | None,
                 info: ReadInfo) -> dict[str, Any]:
    """What the ``loads`` table keeps of a load's validation and reading (its ``validation_summary``)."""
    return {**report.as_dict(), "notes": list(notes), "archive_path": archive_path,
            "file_format": info.file_format, "encoding": info.encoding, "delimiter": info.delimiter}


def _loaded_message(summary: LoadSummary, rows: int) -> str:
    loaded = summary.rows_loaded + summary.rows_updated
    return (f"Loaded {loaded:,} of {rows:,} rows ({summary.rows_loaded:,} new, {summary.rows_updated:,} updated)"
            f"{f', {summary.rows_quarantined:,} kept in quarantine' if summary.rows_quarantined else ''}.")
