"""Charts write money in the orders' currency: the ``$`` of a d3 format ("$,.2f") is the locale's currency."""

from __future__ import annotations

import altair as alt

from engagement import metrics


def in_orders_currency(figure: alt.TopLevelMixin, number_locale: dict | None = None) -> alt.TopLevelMixin:
    """``figure`` with Vega-Lite's number locale set to the current currency (``metrics.set_currency``), or to
    ``number_locale`` (taken earlier, for work done outside the run: an export); the chart's other configuration is
    kept (``configure(locale=...)`` would replace it). Apply it to the outermost chart only: Altair refuses a
    chart with a configuration inside a layered or concatenated one.

    >>> import pandas as pd
    >>> chart = alt.Chart(pd.DataFrame({"x": [1.5]})).mark_bar().encode(x=alt.X("x:Q", axis=alt.Axis(format="$.2f")))
    >>> with metrics.use_currency(["EUR"]): shown = in_orders_currency(chart).to_dict()
    >>> shown["config"]["locale"]["number"]["currency"]
    ['€', '']
    """
    shown = figure.copy(deep=False)
    config = alt.Config() if shown.config is alt.Undefined else shown.config.copy(deep=True)
    config.locale = alt.Locale(number=number_locale or metrics.d3_currency_locale())
    shown.config = config
    return shown
