"""What pages draw their results with: tables, charts (with export), CSV downloads, "Show SQL" and notebooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import pandas as pd
import streamlit as st

from engagement.exports import to_safe_csv
from engagement.filters import Filters
from engagement.ui.session import get_store, view_queries
from engagement.ui import warehouse as ui_warehouse
from engagement.ui.text import plain

if TYPE_CHECKING:
    from engagement.notebook.export import LibraryCall, ViewRecipe


def download_csv(frame: pd.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    """A download button for ``frame`` as CSV, neutralised against spreadsheet formula injection."""
    st.download_button(label, to_safe_csv(frame), file_name=file_name, mime="text/csv", key=key or file_name)


def download_csv_on_click(make_frame: Callable[[], pd.DataFrame], file_name: str, label: str = "Download CSV",
                          key: str | None = None) -> None:
    """A download button whose CSV is built only when clicked (for lists too big to build on every rerun).

    ``make_frame`` runs on another thread without Streamlit context: give it the store, not ``st`` calls.
    """
    st.download_button(label, lambda: to_safe_csv(make_frame()), file_name=file_name, mime="text/csv",
                       key=key or file_name, on_click="ignore")


def table_config(frame: pd.DataFrame, units: dict[str, str] | None = None, keep: Sequence[str] = (),
                 labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame to show (shares x 100) and Streamlit column configuration: every column labelled, numbers with
    thousands separators and the registry's rounding (``engagement/table_format.py``). Columns in ``keep`` are
    configured by the page: shown as they are. ``labels`` renames columns and keeps their format (a page's own
    ``NumberColumn(format="percent")`` showed "12%" beside "13.72%")."""
    import dataclasses

    from engagement.table_format import column_formats, shown_frame

    formats = {c: (dataclasses.replace(f, label=labels[c]) if labels and c in labels else f)
               for c, f in column_formats(frame, units).items() if c not in keep}
    config = {}
    for column, spec in formats.items():
        if spec.printf is not None:
            config[column] = st.column_config.NumberColumn(plain(spec.label), format=spec.printf)
        elif spec.date_format is not None:
            config[column] = st.column_config.DatetimeColumn(plain(spec.label), format=spec.date_format)
        else:
            config[column] = st.column_config.Column(plain(spec.label))
    return shown_frame(frame, formats), config


def table(frame: Any, *, units: dict[str, str] | None = None, column_config: dict[str, Any] | None = None,
          labels: dict[str, str] | None = None, container: Any = None, **kwargs: Any) -> None:
    """``st.dataframe`` formatted like a spreadsheet (:func:`table_config`); ``labels`` rename columns, keeping
    that format; ``column_config`` entries given by the page win (a progress bar, a wider text column). Index
    hidden and full width unless said otherwise."""
    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    shown, config = table_config(frame, units, keep=tuple(column_config or ()), labels=labels)
    config.update(column_config or {})
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    (container if container is not None else st).dataframe(shown, column_config=config, **kwargs)


def chart(figure: Any, *, n: str, key: str, container: Any = None, settings: str = "") -> None:
    """Draw an Altair chart across its column, with "Export" offering it as PNG and SVG for slides.

    The file carries the chart's title, the sidebar's date range and filters, ``n`` ("n = 1,234 orders") and
    ``settings`` (the page's own choices, "weekly cohorts") stamped on it (``charts/export.py``). Rendered
    only when a button is clicked: vl-convert takes about a second per chart.
    """
    import functools

    from engagement.charts.export import (EXPORT_LABELS, FORMATS, ChartStamp, chart_title, describe_filters,
                                          export_chart, file_stem)

    from engagement import metrics
    from engagement.charts.currency import in_orders_currency

    place = container if container is not None else st
    place.altair_chart(in_orders_currency(figure), width="stretch")
    filters = st.session_state.get("filters")
    period, chosen = describe_filters(filters) if filters is not None else ("", "")
    stamp = ChartStamp(date_range=period, filters=chosen, n=n, settings=settings)
    stem = file_stem(chart_title(figure))
    with place.popover("Export chart", icon=":material/download:"):
        st.caption("The image carries the chart's title, date range, filters and n.")
        for fmt, mime in FORMATS.items():
            st.download_button(EXPORT_LABELS[fmt], functools.partial(export_chart, figure, stamp, fmt,
                                                                  metrics.d3_currency_locale()),
                               file_name=f"{stem}.{fmt}", mime=mime, on_click="ignore", key=f"{key}-{fmt}")


def view_recipe(title: str, *calls: "LibraryCall", filters: Filters | None = None,
                description: str = "") -> "ViewRecipe":
    """A view's recipe: its library calls, each with the SQL it ran (taken from the ``view_data`` cache).

    Call it after the page's ``view_data`` calls with the same arguments (then it costs nothing):
    ``recipe = ui.view_recipe("Cohorts", LibraryCall.of(retention_matrix, filters), filters=filters)``.
    """
    from engagement.notebook.export import ViewRecipe

    filled = tuple(c.with_queries(view_queries(c.callable, *c.args, **dict(c.kwargs))) for c in calls)
    return ViewRecipe(title=title, calls=filled, filters=filters, description=description)


def show_sql(recipe: "ViewRecipe", label: str = "Show SQL") -> None:
    """An expander with every SQL file the view ran, its bound parameters, and the SQL text."""
    from engagement.notebook.export import sql_text

    queries = recipe.queries()
    store = get_store()
    spark = getattr(store, "engine_name", "duckdb") == "spark"  # warehouse mode: the translated SQL ran
    with st.expander(label):
        if not queries and not recipe.sql_cells:
            st.caption("This view ran no SQL of its own.")
        elif queries:
            st.caption("Ran on Spark (warehouse mode): each SQL file, then the Spark SQL that ran."
                       if spark else "Ran on DuckDB (the embedded engine).")
        for query in queries:
            st.code(sql_text(query), language="sql")
            if spark:
                st.code(ui_warehouse.spark_sql(store, query), language="sql")
        for number, sql in enumerate(recipe.sql_cells, start=1):
            st.code(f"-- cell {number}\n{sql.strip()}", language="sql")


def notebook_download(recipe: "ViewRecipe", label: str = "Open as notebook", key: str | None = None) -> None:
    """A download button for the view as a Jupyter notebook (same filters, same library calls, its SQL)."""
    import functools
    import os

    from engagement.notebook.export import file_name, notebook_text

    store = get_store()
    path = store.path if store.path == ":memory:" else os.path.abspath(store.path)
    name = file_name(recipe)
    # Built only when clicked (no nbformat import or notebook on every run), without a rerun.
    opener = ui_warehouse.notebook_opener(store)  # warehouse mode: the notebook opens the same tables on Spark
    st.download_button(label, functools.partial(notebook_text, recipe, path, opener), file_name=name,
                       mime="application/x-ipynb+json", on_click="ignore",
                       key=key or f"notebook-{name}", icon=":material/download:",
                       help="A Jupyter notebook that recomputes this view with the engagement library "
                            "and shows the SQL it ran.")


def view_exports(recipe: "ViewRecipe", key: str | None = None) -> None:
    """"Open as notebook" and "Show SQL": what every view ends with."""
    notebook_download(recipe, key=key)
    show_sql(recipe)


def title_with_fit_status(label: str) -> None:
    """A page title, and under it, while the default CLV and churn fits lag the data (refitted after a load
    commits, issue 20), which load they reflect and that they are being refreshed."""
    from engagement.derived.refits import fit_status

    st.title(label)  # the page's own literal title (the scan checks it at the call site)
    status = fit_status(get_store()).label()
    if status:
        st.info(plain(status + " Until then the models here are fitted on demand for the current data, which takes "
                      "longer at the default settings."), icon=":material/hourglass_top:")
