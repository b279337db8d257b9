"""The currency the loaded orders are in: what every amount on the pages, in the CLI and in the digest is shown in.

Intake quarantines orders in another currency than the stored orders' most common one, so a database normally
holds one; a warehouse table is read as it is and may hold several (``metrics.money`` then shows the codes).
"""

from __future__ import annotations

from engagement import metrics
from engagement.sql import read_sql
from engagement.warehouse.store import Store


def order_currencies(store: Store, cursor=None) -> tuple[str, ...]:
    """The orders' currency codes, most orders first (empty without orders).

    >>> from engagement.workbench import open_workbench
    >>> store = open_workbench(":memory:", read_only=False)
    >>> order_currencies(store)
    ()
    """
    # Rows, not a DataFrame: a command that shows no table (``undo``) then never imports pandas (stand_ins.py).
    rows = (cursor or store.cursor()).execute(read_sql("kpis/order_currencies")).fetchall()
    return tuple(currency for currency, _ in rows)


def orders_without_currency(store: Store, cursor=None) -> bool:
    """True when orders are loaded and none names a currency: amounts are then shown without a currency sign.

    >>> from engagement.workbench import open_workbench
    >>> store = open_workbench(":memory:", read_only=False)
    >>> orders_without_currency(store)  # nothing loaded: nothing to say
    False
    """
    orders, with_currency = (cursor or store.cursor()).execute(read_sql("kpis/currency_coverage")).fetchall()[0]
    return orders > 0 and with_currency == 0


# Where a brand says its currency when its exports do not (the Data page's sidebar notice, the intake's note).
NO_CURRENCY_NOTE = ("The orders name no currency, so amounts are shown without a currency sign. Load them with a "
                    f"currency column, or {metrics.NAME_THE_CURRENCY}, to show it.")
