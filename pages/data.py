"""Data: upload an export, see every validation check, load it atomically, map unknown layouts, undo loads."""

import pandas as pd
import streamlit as st

from engagement import ui
from engagement.warehouse.access import WriteRefused
from engagement.warehouse.audit import audit_trail
from engagement.intake.ingest import ON_INVALID, activity_counts, detect_kind, ingest_bytes, load_history, quarantined_rows
from engagement.intake.line_items import LINE_FIELDS
from engagement.warehouse.schema import KINDS, TABLES
from engagement.table_format import as_file_text, expand_json_column
from engagement.intake.saved_mappings import save_mapping, saved_mappings
from engagement.intake.sources import SOURCES, parse_map_option

st.title("Data")
ui.warehouse.stop_data_page()  # warehouse mode: loads stay on the brand's pipelines
store = ui.upload_store()  # the brand's database, whatever the other pages show
st.caption("Exports are read, checked against their Great Expectations suite (expectations/<kind>.json) and "
           "loaded in one transaction: a rejected file changes nothing, and every load can be undone.")


def mapping_form(data: bytes, name: str, kind: str, header: tuple) -> None:
    """Their header -> our fields, for files of an unknown layout; saved in the database for reuse."""
    st.subheader("Column mapping")
    st.caption(f"Pick, for each {ui.plain(kind)} field, the column of {ui.plain(name)} that holds it. Required fields are marked *. "
               "Saved mappings are reused automatically for files with the same header.")
    choices = ["—"] + list(header)
    mapping = {}
    # Line-item files (one row per order line) name their quantity and price columns; orders are folded.
    line_fields = [(f, {"line_quantity": "Quantity of the line (line-item files)",
                        "line_price": "Unit price of the line (line-item files)",
                        "order_total": "Order total, repeated on each line (optional)"}[f])
                   for f in LINE_FIELDS] if kind == "orders" else []
    fields = [(c.name, c.required, c.description) for c in TABLES[kind].columns] + \
        [(f, False, help_text) for f, help_text in line_fields]
    with st.form("data_mapping_form"):
        grid = st.columns(3)
        for i, (field, required, help_text) in enumerate(fields):
            guess = next((h for h in header if h.lower().replace(" ", "_") == field), "—")
            # Widgets tied to one uploaded file: they cannot live in a shared URL.
            picked = grid[i % 3].selectbox(f"{ui.plain(field)}{' *' if required else ''}", choices,
                                           index=choices.index(guess), key=f"data_map_{kind}_{field}",
                                           help=ui.plain(help_text))
            if picked != "—":
                mapping[field] = picked
            elif guess != "—":
                mapping[field] = None  # not read, though a column has its name (a mapping reads those otherwise)
        constants = st.text_input("Fixed values for fields the file lacks (FIELD=VALUE, ...)", value="",
                                  key="data_mapping_constants", placeholder="currency=GBP, status=paid")
        mapping_name = st.text_input("Save as", value=f"{kind} from {name}", key="data_mapping_name")
        save = st.form_submit_button("Save mapping and load")
    if save:
        try:
            mapping.update(parse_map_option(constants, kind))
        except ValueError as exc:
            st.error(ui.plain(exc))
            return
        try:
            actor = store.authorize(ui.current_actor(), "saving a column mapping")
        except WriteRefused as exc:
            st.error(ui.plain(exc))
            return
        save_mapping(store.cursor(), mapping_name, kind, header, mapping, actor=actor)
        st.session_state["data_result"] = ingest_bytes(
            store, kind, data, name, mapping=mapping, actor=actor,
            on_invalid=st.session_state.get("data_on_invalid", "reject"),
            strict_customers=st.session_state.get("data_strict_customers", False))
        ui.after_load(st.session_state["data_result"])
        st.rerun()


if store.read_only:
    st.info("This workbench is opened read-only: uploading, mapping and undo are switched off. "
            "The load history below shows what the numbers are built from.", icon=":material/lock:")
elif not ui.can_write(store):
    st.info("You have the viewer role: uploading, mapping and undo are for analysts. The load history and "
            "audit trail below show what the numbers are built from.", icon=":material/lock:")
else:
    upload = st.file_uploader("Export file", type=["csv", "tsv", "txt", "gz", "parquet", "xlsx"],
                              key="data_upload", help="CSV (UTF-8, Latin-1 or Windows-1252, comma/semicolon/tab), TSV, "
                                                      ".csv.gz, Parquet or XLSX. Shopify and Klaviyo exports are "
                                                      "recognised.")
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
    strict_col, fixed_col = st.columns([1, 2])
    strict_col.checkbox("Strict customers", key="data_strict_customers",
                        help="Refuse rows naming a customer no customers export has loaded. Off: such ids are "
                             "implied customers (a customer exists when any activity names the id).")
    fixed = fixed_col.text_input("Fixed values for fields the file lacks", key="data_fixed_values",
                                 placeholder="currency=GBP", help="FIELD=VALUE, ...: every row of the file gets the "
                                 "value (orders without a currency column: currency=GBP; as --map on the CLI).")
    if upload is not None:
        data = upload.getvalue()
        detected, detected_source, header = detect_kind(data, upload.name)
        kind = detected if kind_choice == "detect" else kind_choice
        st.caption(f"Header: {len(header)} columns · detected source: {ui.plain(detected_source)} · "
                   f"detected kind: {ui.plain(detected or 'unknown')}")
        if kind is None:
            kind = st.selectbox("The kind could not be detected; choose it", KINDS, key="data_kind_fallback")
        validate_col, load_col = st.columns(2)
        run_validate = validate_col.button("Validate only", key="data_validate", width="stretch")
        run_load = load_col.button(f"Validate and load into {ui.plain(kind)}", key="data_load", type="primary", width="stretch")
        try:
            constants = parse_map_option(fixed, kind) if fixed.strip() else None
        except ValueError as exc:  # typed: said, and nothing runs
            st.error(ui.plain(exc))
            run_validate = run_load = False
        if run_validate or run_load:
            bar = st.progress(0.0, text="starting")
            try:
                st.session_state["data_result"] = ingest_bytes(
                    store, kind, data, upload.name, source=source, on_invalid=on_invalid, dry_run=run_validate,
                    strict_customers=st.session_state.get("data_strict_customers", False), mapping=constants,
                    progress=lambda stage, fraction: bar.progress(fraction, text=stage), actor=ui.current_actor(),
                )
            except WriteRefused as exc:
                st.error(ui.plain(exc))
            bar.empty()
            st.session_state["data_header"] = (upload.name, kind, header)
            ui.after_load(st.session_state.get("data_result"))
        result = st.session_state.get("data_result")
        if result is not None and result.file_name == upload.name:
            ui.show_ingest_result(result)
            if result.report is None and "Missing required column" in result.message:
                mapping_form(data, upload.name, result.kind, header)
    ui.batch_upload(store)
    saved = saved_mappings(store.cursor())
    if saved:
        with st.expander(f"Saved column mappings ({len(saved)})"):
            ui.table(pd.DataFrame(saved).drop(columns=["header_signature"]))

caption = ui.activity_caption(activity_counts(store))
if caption:
    st.caption(ui.plain(caption))

st.header("Load history")
history = load_history(store)
if history.empty:
    st.info("Nothing loaded yet.")
else:
    ui.table(history.drop(columns=["sha256"]))
    active = history[history.undone_at.isna()]
    if ui.can_write(store) and not active.empty:
        st.markdown("**Undo a load** (restores the rows it replaced; undo later loads of the same table first)")
        for row in active.head(10).itertuples():
            text, button = st.columns([5, 1])
            text.write(f"#{row.load_id:d} · {ui.plain(row.kind)} · {ui.plain(row.file_name)} · {row.rows_loaded:,} new, "
                       f"{row.rows_updated:,} updated, {row.rows_quarantined:,} quarantined")
            if button.button("Undo", key=f"data_undo_{row.load_id}"):
                st.session_state["data_undo_pending"] = int(row.load_id)  # asked to confirm below
            if st.session_state.get("data_undo_pending") == row.load_id:
                ui.confirm_undo(store, row, ui.current_actor())
    with_quarantine = history[history.rows_quarantined > 0]
    if not with_quarantine.empty:
        load_id = ui.synced_choice("Quarantined rows of load", with_quarantine.load_id.tolist(),
                                   key="data_quarantine_load")
        rows = quarantined_rows(store, int(load_id))
        ui.table(as_file_text(expand_json_column(rows, "row_json")), units={"row_number": "id"})  # the file's text
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
            f"{latest.acted_at:%d %b %Y, %H:%M:%S} UTC")  # st.text: names and file names are shown as typed
    ui.table(trail, column_config={"acted_at": st.column_config.DatetimeColumn(  # as the history, with seconds
        "When (UTC)", format="D MMM YYYY, HH:mm:ss")})
