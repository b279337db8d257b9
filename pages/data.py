"""Data: upload an export, see every validation check, load it atomically, map unknown layouts, undo loads."""

import pandas as pd
import streamlit as st

from engagement import ui
from engagement.access import WriteRefused
from engagement.warehouse.audit import audit_trail
from engagement.intake.ingest import ON_INVALID, detect_kind, ingest_bytes, load_history, quarantined_rows
from engagement.warehouse.schema import KINDS, TABLES
from engagement.intake.sources import SOURCES, save_mapping, saved_mappings

store = ui.get_store()
st.title("Data")
st.caption("Exports are read, checked against their Great Expectations suite (expectations/<kind>.json) and "
           "loaded in one transaction: a rejected file changes nothing, and every load can be undone.")


def show_result(result) -> None:
    """The outcome of one validate/load: counts, every expectation, failing rows with their row numbers."""
    (st.success if result.status in ("loaded", "valid") else st.error)(result.message)
    d = result.as_dict()
    cols = st.columns(5)
    for column, key in zip(cols, ("rows_read", "rows_loaded", "rows_updated", "rows_quarantined", "rows_rejected")):
        column.metric(key.replace("_", " ").capitalize(), f"{d[key]:,}")
    for note in result.notes:
        st.caption(note)
    if result.report is None:
        return
    report = result.report
    st.subheader(f"Validation report · {report.rows:,} rows · engine: {report.engine} · {report.seconds:.1f} s")
    table = report.results_frame().sort_values("success", kind="stable")  # failures first, suite order kept
    table.insert(0, "result", table.success.map({True: "pass", False: "FAIL"}))
    st.caption(f"{(~table.success).sum()} of {len(table)} expectations fail.")
    order = ["result", "description", "unexpected_count", "unexpected_percent", "level", "fix", "expectation",
             "column", "element_count", "engine", "note"]
    st.dataframe(
        table[order], hide_index=True, width="stretch", height=min(36 * (len(table) + 1), 800),
        column_config={"unexpected_percent": st.column_config.NumberColumn("unexpected %", format="%.2f"),
                       "unexpected_count": st.column_config.NumberColumn("unexpected rows", format="%d")},
    )
    if result.failing_rows is not None and len(result.failing_rows):
        st.markdown(f"**Failing rows** ({report.failing_row_count:,}; row numbers as a spreadsheet shows the file, "
                    "header = row 1)")
        st.dataframe(result.failing_rows.head(200), hide_index=True, width="stretch")
        ui.download_csv(result.failing_rows, f"failing_rows_{result.kind}.csv", label="Download failing rows (CSV)",
                        key="data_failing_download")


def mapping_form(data: bytes, name: str, kind: str, header: tuple) -> None:
    """Their header -> our fields, for files of an unknown layout; saved in the database for reuse."""
    st.subheader("Column mapping")
    st.caption(f"Pick, for each {kind} field, the column of {name} that holds it. Required fields are marked *. "
               "Saved mappings are reused automatically for files with the same header.")
    choices = ["—"] + list(header)
    mapping = {}
    with st.form("data_mapping_form"):
        grid = st.columns(3)
        for i, column in enumerate(TABLES[kind].columns):
            guess = next((h for h in header if h.lower().replace(" ", "_") == column.name), "—")
            # Widgets tied to one uploaded file: they cannot live in a shared URL.
            picked = grid[i % 3].selectbox(f"{column.name}{' *' if column.required else ''}", choices,
                                           index=choices.index(guess), key=f"data_map_{kind}_{column.name}",
                                           help=column.description)
            if picked != "—":
                mapping[column.name] = picked
        mapping_name = st.text_input("Save as", value=f"{kind} from {name}", key="data_mapping_name")
        save = st.form_submit_button("Save mapping and load")
    if save:
        try:
            actor = store.authorize(ui.current_actor(), "saving a column mapping")
        except WriteRefused as exc:
            st.error(str(exc))
            return
        save_mapping(store.cursor(), mapping_name, kind, header, mapping, actor=actor)
        st.session_state["data_result"] = ingest_bytes(store, kind, data, name, mapping=mapping, actor=actor,
                                                       on_invalid=st.session_state.get("data_on_invalid", "reject"))
        st.rerun()


if store.read_only:
    st.info("This workbench is opened read-only: uploading, mapping and undo are switched off. "
            "The load history below shows what the numbers are built from.", icon=":material/lock:")
elif not ui.can_write(store):
    st.info("You have the viewer role: uploading, mapping and undo are for analysts. The load history and "
            "audit trail below show what the numbers are built from.", icon=":material/lock:")
else:
    upload = st.file_uploader("Export file", type=["csv", "tsv", "txt", "gz", "parquet", "xlsx"],
                              key="data_upload", help="CSV (UTF-8 or Latin-1, comma/semicolon/tab), TSV, .csv.gz, "
                                                      "Parquet or XLSX. Shopify and Klaviyo exports are recognised.")
    left, middle, right = st.columns(3)
    with left:
        kind_choice = ui.synced_choice("Kind", ("detect",) + KINDS, key="data_kind", default="detect",
                                       help="Which table the file feeds; 'detect' reads it from the header.")
    with middle:
        source = ui.synced_choice("Source format", SOURCES, key="data_source", default="auto")
    with right:
        on_invalid = ui.synced_choice("Invalid rows", ON_INVALID, key="data_on_invalid", default="reject",
                                      widget=st.radio, horizontal=True,
                                      help="reject: any failing row rejects the file. quarantine: load the valid "
                                           "rows, keep the failing ones (with reason and row number).")
    if upload is not None:
        data = upload.getvalue()
        detected, detected_source, header = detect_kind(data, upload.name)
        kind = detected if kind_choice == "detect" else kind_choice
        st.caption(f"Header: {len(header)} columns · detected source: {detected_source} · "
                   f"detected kind: {detected or 'unknown'}")
        if kind is None:
            kind = st.selectbox("The kind could not be detected; choose it", KINDS, key="data_kind_fallback")
        validate_col, load_col = st.columns(2)
        run_validate = validate_col.button("Validate only", key="data_validate", width="stretch")
        run_load = load_col.button(f"Validate and load into {kind}", key="data_load", type="primary", width="stretch")
        if run_validate or run_load:
            bar = st.progress(0.0, text="starting")
            try:
                st.session_state["data_result"] = ingest_bytes(
                    store, kind, data, upload.name, source=source, on_invalid=on_invalid, dry_run=run_validate,
                    progress=lambda stage, fraction: bar.progress(fraction, text=stage), actor=ui.current_actor(),
                )
            except WriteRefused as exc:
                st.error(str(exc))
            bar.empty()
            st.session_state["data_header"] = (upload.name, kind, header)
        result = st.session_state.get("data_result")
        if result is not None and result.file_name == upload.name:
            show_result(result)
            if result.report is None and "Missing required column" in result.message:
                mapping_form(data, upload.name, result.kind, header)
    saved = saved_mappings(store.cursor())
    if saved:
        with st.expander(f"Saved column mappings ({len(saved)})"):
            st.dataframe(pd.DataFrame(saved).drop(columns=["header_signature"]), hide_index=True, width="stretch")

st.header("Load history")
history = load_history(store)
if history.empty:
    st.info("Nothing loaded yet.")
else:
    st.dataframe(history.drop(columns=["sha256"]), hide_index=True, width="stretch")
    active = history[history.undone_at.isna()]
    if ui.can_write(store) and not active.empty:
        st.markdown("**Undo a load** (restores the rows it replaced; undo later loads of the same table first)")
        for row in active.head(10).itertuples():
            text, button = st.columns([5, 1])
            text.write(f"#{row.load_id} · {row.kind} · {row.file_name} · {row.rows_loaded:,} new, "
                       f"{row.rows_updated:,} updated, {row.rows_quarantined:,} quarantined")
            if button.button("Undo", key=f"data_undo_{row.load_id}"):
                try:
                    store.undo(int(row.load_id), actor=ui.current_actor())
                    st.toast(f"Load {row.load_id} undone.")
                    st.rerun()
                except (ValueError, WriteRefused) as exc:
                    st.error(str(exc))
    with_quarantine = history[history.rows_quarantined > 0]
    if not with_quarantine.empty:
        load_id = ui.synced_choice("Quarantined rows of load", with_quarantine.load_id.tolist(),
                                   key="data_quarantine_load")
        rows = quarantined_rows(store, int(load_id))
        st.dataframe(rows, hide_index=True, width="stretch")
        ui.download_csv(rows, f"quarantine_load_{load_id}.csv", label="Download quarantined rows (CSV)",
                        key="data_quarantine_download")

st.header("Audit trail")
st.caption("Who loaded, undid or saved what, and when (UTC). Written in the same transaction as the change.")
trail = audit_trail(store)
if trail.empty:
    st.info("No recorded actions yet.")
else:
    latest = trail.iloc[0]
    st.text(f"Latest: {latest.actor} ({latest.role or 'no role'}) · {latest.action} · {latest.target or ''} · "
            f"{latest.acted_at:%Y-%m-%d %H:%M:%S} UTC")  # st.text: names and file names are shown as typed
    st.dataframe(trail, hide_index=True, width="stretch",
                 column_config={"acted_at": st.column_config.DatetimeColumn("when (UTC)")})
