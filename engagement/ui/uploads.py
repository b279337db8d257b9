"""The Data page's uploads: several files in one transaction, and the outcome of one validate/load."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from engagement.table_format import as_file_text
from engagement.ui.auth import current_actor
from engagement.ui.output import download_csv, table
from engagement.ui.text import plain
from engagement.warehouse import access
from engagement.warehouse.store import Store


def batch_upload(store: Store) -> None:
    """The Data page's several files (a week's exports) loaded in one transaction with one derived update: all or
    none. Each file's kind is read from its header."""
    from engagement.intake.ingest import detect_kind, ingest_batch_bytes

    with st.expander("Several files at once (one transaction: all load, or none)"):
        uploads = st.file_uploader("Export files", accept_multiple_files=True, key="data_batch_upload",
                                   type=["csv", "tsv", "txt", "gz", "parquet", "xlsx"])
        if not uploads:
            return
        files = [(detect_kind(u.getvalue(), u.name)[0], u.getvalue(), u.name) for u in uploads]
        st.dataframe(pd.DataFrame({"file": [plain(n) for _, _, n in files],
                                   "kind": [plain(k or "not detected") for k, _, _ in files]}), hide_index=True)
        unknown = [name for kind, _, name in files if kind is None]
        if unknown:
            st.error(plain(f"The kind of {', '.join(unknown)} could not be detected: load it alone above."))
        elif st.button(f"Validate and load all {len(files)} files", key="data_batch_load", type="primary"):
            try:
                results = ingest_batch_bytes(store, files, actor=current_actor())
            except access.WriteRefused as exc:
                st.error(plain(exc))
                return
            for result in results:
                (st.success if result.status == "loaded" else st.error)(plain(f"{result.file_name}: {result.message}"))


CHECK_ORDER = {"FAIL": 0, "warn": 1, "pass": 2, "n/a": 3}


def checks_table(checks: pd.DataFrame) -> pd.DataFrame:
    """The validation report's expectations as the Data page lists them: failures first, then warnings, passes
    and the checks of columns the file does not have ("n/a": nothing was checked, so not "pass"). Counts are
    text: a file-level check has no count of rows, and a blank cell says so where a number column shows "None"."""
    warned = ~checks.success & (checks.level == "warning")
    result = checks.success.map({True: "pass", False: "FAIL"}).where(~warned, "warn").where(checks.applicable, "n/a")
    shown = checks.assign(
        result=result,
        unexpected_count=[f"{int(n):,}" if pd.notna(n) else "" for n in checks.unexpected_count],
        unexpected_percent=[_share(p) for p in checks.unexpected_percent],
        element_count=[f"{int(n):,}" if pd.notna(n) else "" for n in checks.element_count],
    )
    shown = shown.iloc[shown.result.map(CHECK_ORDER).argsort(kind="stable")]
    order = ["result", "description", "unexpected_count", "unexpected_percent", "level", "note", "fix",
             "expectation", "column", "element_count", "engine"]
    return shown[order].rename(columns={"unexpected_count": "Unexpected rows", "unexpected_percent": "Unexpected %",
                                        "element_count": "Rows checked"})


def _share(percent: float | None) -> str:
    """A check's failing share: "" when it has none, "<0.1%" when failures round to zero (Online Retail's 2 negative
    orders of 25,900 read "0.0%" beside "2")."""
    if percent is None or pd.isna(percent):
        return ""
    return "<0.1%" if 0 < percent < 0.05 else f"{percent:.1f}%"


def checks_summary(shown: pd.DataFrame) -> str:
    counts = shown.result.value_counts()
    parts = [f"{counts.get('FAIL', 0)} of {len(shown)} expectations fail"]
    if counts.get("warn", 0):
        parts.append(f"{counts['warn']} warn (reported, the rows load)")
    if counts.get("n/a", 0):
        parts.append(f"{counts['n/a']} not applicable (the file has no such column)")
    return "; ".join(parts) + "."


def show_ingest_result(result: Any) -> None:
    """The Data page's outcome of one validate/load (``IngestResult``): counts, every expectation, failing rows
    with their row numbers."""
    (st.success if result.status in ("loaded", "valid") else st.error)(plain(result.message))
    d = result.as_dict()
    cols = st.columns(5)
    for column, key in zip(cols, ("rows_read", "rows_loaded", "rows_updated", "rows_quarantined", "rows_rejected")):
        column.metric(plain(key.replace("_", " ").capitalize()), f"{d[key]:,}")
    for note in result.notes:
        st.caption(plain(note))
    if result.report is None:
        return
    report = result.report
    took = f"{report.seconds:.2f}" if report.seconds < 0.1 else f"{report.seconds:.1f}"
    st.subheader(plain(f"Validation report · {report.rows:,} rows · engine: {report.engine} · {took} s"))
    shown = checks_table(report.results_frame())
    st.caption(plain(checks_summary(shown)))
    table(shown, height=min(36 * (len(shown) + 1), 800))
    if result.failing_rows is not None and len(result.failing_rows):
        st.markdown(f"**Failing rows** ({report.failing_row_count:,}; row numbers as a spreadsheet shows the file, "
                    "header = row 1)")
        table(as_file_text(result.failing_rows.head(200)), units={"row_number": "id"})  # the file's own text
        download_csv(result.failing_rows, f"failing_rows_{result.kind}.csv", label="Download failing rows (CSV)",
                        key="data_failing_download")


def activity_caption(counts: dict[str, int]) -> str | None:
    """The Data page's line on implied customers and guest orders (``intake.ingest.activity_counts``), naming
    only what there is: CDNOW's read "... 0 guest orders without a customer id ...". None when neither exists."""
    parts = []
    if counts["implied_customers"]:
        parts.append(f"{counts['implied_customers']:,} implied customers: named by orders, events, surveys or "
                     "experiment assignments but in no customers export (customer_summary.is_implied; a customers "
                     "export adds their attributes).")
    if counts["guest_orders"]:
        parts.append(f"{counts['guest_orders']:,} guest orders without a customer id: in revenue and order totals, "
                     "left out of customer-level views.")
    return " ".join(parts) or None


def confirm_undo(store: Store, row: Any, actor: Any) -> None:
    """The second step of an undo: say what it changes, then undo only on an explicit confirmation as ``actor``
    (the page's signed-in user, :func:`current_actor`). The store
    checks the role (a viewer is refused even if a button shows) and whether a later load replaced this one's rows; a
    load that cannot be undone now says why instead of asking, and the question says which customers stay implied."""
    preview = store.undo_preview(int(row.load_id))  # one read of the load's row
    if preview.refusal is not None:
        st.error(plain(preview.refusal))
        if st.button("Close", key=f"data_undo_cancel_{row.load_id}"):
            st.session_state.pop("data_undo_pending", None)
            st.rerun()
        return
    note = preview.note
    st.warning(plain(f"Undo load #{row.load_id:d} ({row.kind})? Its {row.rows_loaded:,} new rows are removed and "
                     f"the {row.rows_updated:,} rows it replaced come back; the derived tables are rebuilt."
                     + (f" {note}" if note else "")))
    confirm, cancel, _ = st.columns([1, 1, 4])
    if confirm.button("Confirm undo", key=f"data_undo_confirm_{row.load_id}", type="primary"):
        st.session_state.pop("data_undo_pending", None)
        try:
            store.undo(int(row.load_id), actor=actor)  # its note was in the question
            st.toast(f"Load {row.load_id:d} undone.")
            st.rerun()
        except (ValueError, access.WriteRefused) as exc:  # refused (a later load replaced its rows, or not an analyst)
            st.error(plain(exc))
    if cancel.button("Cancel", key=f"data_undo_cancel_{row.load_id}"):
        st.session_state.pop("data_undo_pending", None)
        st.rerun()
