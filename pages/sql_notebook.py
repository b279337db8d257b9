"""SQL notebook: analysts' own read-only DuckDB queries in cells, saved by name, shareable by link."""

import streamlit as st

from engagement import ui
from engagement.charts.quick_chart import MARKS, QuickChartSpec, quick_chart, suggest_chart
from engagement.notebook.export import ViewRecipe
from engagement.notebook.schema_browser import schema_tables
from engagement.notebook.notebooks import (
    STARTER_SQL, Cell, Notebook, add_cell, delete_cell, list_notebooks, load_notebook, move_cell,
    notebook_versions, run_cell, save_notebook, share_query, update_cell,
)

NEW = "(new notebook)"
HEADINGS = {"canonical": "Loaded from exports", "derived": "Derived (kept current by every load)"}
st.title("SQL notebook")
ui.warehouse.stop_notebook()  # DuckDB's sandbox only: nothing on the Spark side runs user SQL
store = ui.get_store()
state = st.session_state
st.caption("Ask your own questions of the loaded and derived tables in DuckDB SQL (e-mail addresses masked). Queries "
           "are read-only, return at most the row limit and are cancelled after the time limit; files can only be "
           "read from data/.")

saved = list_notebooks(store)
top = st.columns([2, 1, 1, 1])
with top[0]:
    chosen = ui.synced_choice("Notebook", [NEW, *saved["name"]], key="notebook")
if chosen != state.get("sqlnb_loaded", (chosen,))[0]:  # another notebook: open its latest version
    state.pop("notebook_version", None)
    st.query_params.pop("notebook_version", None)
versions = [] if chosen == NEW else [int(v) for v in notebook_versions(store, chosen)["version"]]
with top[1]:
    version = ui.synced_choice("Version", versions, key="notebook_version") if versions else None
with top[2]:
    max_rows = ui.synced_number("Row limit", key="sqlnb_rows", default=10_000, min_value=1, max_value=100_000)
with top[3]:
    timeout = ui.synced_number("Time limit (s)", key="sqlnb_timeout", default=30, min_value=1, max_value=300)


def text_key(cell: Cell) -> str:
    return f"sqlnb_sql_{cell.cell_id}"


def current() -> Notebook:
    """The working notebook with each cell's SQL as currently typed."""
    nb = state["sqlnb"]
    return Notebook(name=nb.name, description=nb.description, version=nb.version, saved_at=nb.saved_at, cells=tuple(
        Cell(sql=state.get(text_key(c), c.sql), cell_id=c.cell_id, chart=c.chart) for c in nb.cells))


def execute(cells: list[Cell]) -> None:
    for cell in cells:
        state["sqlnb_runs"][cell.cell_id] = run_cell(store, cell.sql, max_rows=int(max_rows),
                                                     timeout_seconds=float(timeout))


def open_notebook(nb: Notebook) -> None:
    state["sqlnb"], state["sqlnb_runs"] = nb, {}
    for cell in nb.cells:
        state[text_key(cell)] = cell.sql
    execute(list(nb.cells))


wanted = (chosen, version)
if state.get("sqlnb_loaded") != wanted:
    try:
        opened = Notebook(cells=(Cell(STARTER_SQL),)) if chosen == NEW else load_notebook(store, chosen, version)
    except LookupError as exc:
        st.error(ui.plain(exc))
        opened = Notebook(cells=(Cell(STARTER_SQL),))
    open_notebook(opened)
    state["sqlnb_loaded"] = wanted


def edit(change, *args) -> None:
    state["sqlnb"] = change(current(), *args)


def run_one(index: int) -> None:
    execute([current().cells[index]])


def save(name_key: str) -> None:
    try:
        nb = save_notebook(store, Notebook(name=state.get(name_key, ""), cells=current().cells, description=state["sqlnb"].description),
                           actor=ui.current_actor())
    except (ValueError, RuntimeError, PermissionError) as exc:  # PermissionError: access.WriteRefused
        state["sqlnb_message"] = ("error", str(exc))
        return
    state["sqlnb"], state["sqlnb_loaded"] = nb, (nb.name, nb.version)
    state["notebook"], state["notebook_version"] = nb.name, nb.version
    state["sqlnb_message"] = ("success", f"Saved {nb.name!r} as version {nb.version}. Share this page's link "
                                         f"(…/sql_notebook?{share_query(nb)}) to reopen exactly this version.")


main, browser = st.columns([5, 2], gap="large")
with main:
    buttons = st.columns([1.2, 1.2, 2.4, 1], vertical_alignment="bottom")
    buttons[0].button("Run all", type="primary", on_click=lambda: execute(list(current().cells)), icon=":material/play_arrow:")
    buttons[1].button("Add cell", on_click=edit, args=(add_cell, "SELECT 1"), icon=":material/add:")
    if ui.can_write(store):  # viewers and shared read-only links get no control that writes
        buttons[2].text_input("Name", value=state["sqlnb"].name, key=f"sqlnb_name_{wanted}",
                              label_visibility="collapsed", placeholder="Notebook name")
        buttons[3].button("Save", on_click=save, args=(f"sqlnb_name_{wanted}",),
                          help="Saves a new version; earlier versions are kept.")
    if state["sqlnb"].version is not None:
        st.caption(f"Version {state['sqlnb'].version:d} saved {state['sqlnb'].saved_at:%d %b %Y %H:%M} UTC. "
                   f"Link to it: {ui.plain('…/sql_notebook?' + share_query(state['sqlnb']))}")
    if "sqlnb_message" in state:
        kind, text = state.pop("sqlnb_message")
        (st.success if kind == "success" else st.error)(ui.plain(text))

    notebook = current()
    for index, cell in enumerate(notebook.cells):
        with st.container(border=True):
            if text_key(cell) not in state:
                state[text_key(cell)] = cell.sql
            lines = state[text_key(cell)].count("\n") + 1
            st.text_area(f"Cell {index + 1:d}", key=text_key(cell), height=max(110, min(420, 26 * lines + 30)))
            controls = st.columns(4)
            controls[0].button("Run", key=f"run_{cell.cell_id}", on_click=run_one, args=(index,), icon=":material/play_arrow:")
            controls[1].button("Up", key=f"up_{cell.cell_id}", on_click=edit, args=(move_cell, index, -1),
                               disabled=index == 0, icon=":material/arrow_upward:")
            controls[2].button("Down", key=f"down_{cell.cell_id}", on_click=edit, args=(move_cell, index, 1),
                               disabled=index == len(notebook.cells) - 1, icon=":material/arrow_downward:")
            controls[3].button("Delete", key=f"del_{cell.cell_id}", on_click=edit, args=(delete_cell, index),
                               icon=":material/delete:")
            run = state["sqlnb_runs"].get(cell.cell_id)
            if run is None:
                st.caption("Not run yet.")
                continue
            if not run.ok:
                (st.warning if run.status == "refused" else st.error)(f"**{ui.plain(run.status.capitalize())}:** {ui.plain(run.message)}")
                continue
            result = run.result
            st.caption(ui.plain(result.summary()) + (f" (row limit {result.max_rows:,})" if result.truncated else ""))
            st.dataframe(result.frame, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(result.frame)))
            ui.download_csv(result.frame, f"cell-{index + 1}.csv", key=f"csv_{cell.cell_id}")
            spec = cell.chart or suggest_chart(result.frame)
            columns = [str(c) for c in result.frame.columns]
            if spec is None or result.frame.empty or spec.x not in columns or spec.y not in columns:
                continue
            with st.expander("Quick chart", expanded=cell.chart is not None):
                picks = st.columns(4)
                x = picks[0].selectbox("x", columns, index=columns.index(spec.x), key=f"x_{cell.cell_id}")
                y = picks[1].selectbox("y", columns, index=columns.index(spec.y), key=f"y_{cell.cell_id}")
                colours = ["(none)", *columns]
                colour = picks[2].selectbox("Colour", colours, key=f"c_{cell.cell_id}",
                                            index=colours.index(spec.color) if spec.color in colours else 0)
                mark = picks[3].selectbox("Mark", MARKS, index=MARKS.index(spec.mark), key=f"m_{cell.cell_id}")
                chosen_spec = QuickChartSpec(x=x, y=y, color=None if colour == "(none)" else colour, mark=mark)
                if chosen_spec != cell.chart and (cell.chart or chosen_spec != spec):  # the analyst's choice:
                    state["sqlnb"] = update_cell(current(), index, chart=chosen_spec)  # saved with the cell
                try:
                    ui.chart(quick_chart(result.frame, chosen_spec, ui.annotations()), key=f"qc-{cell.cell_id}",
                             n=f"n = {len(result.frame):,} rows")
                except ValueError as exc:
                    st.warning(ui.plain(exc))

    title = f"SQL notebook: {notebook.name}" if notebook.name else "SQL notebook"
    ui.view_exports(ViewRecipe(title=title, sql_cells=tuple(c.sql for c in current().cells if c.sql.strip())),
                    key="sqlnb_export")

with browser:
    st.subheader("Schema")
    tables = ui.view_data(schema_tables)
    for kind in HEADINGS:
        st.caption(HEADINGS[kind])
        for table in (t for t in tables if t.kind == kind):
            with st.expander(f"{ui.plain(table.name)} · {table.rows:,} row{'' if table.rows == 1 else 's'}"):
                st.caption(ui.plain(f"Grain: {table.grain}" + (f". Key: {', '.join(table.key)}" if table.key else "")))
                ui.table([{"column": c.name, "type": c.sql_type, "meaning": c.description} for c in table.columns])
                if table.definition:
                    st.code(table.definition, language="sql")
    st.caption("Cells see only these tables, with e-mail addresses masked. The workbench's own tables (load log, "
               "audit trail, alert rules, saved notebooks, annotations) are not open to them (docs/access.md).")
