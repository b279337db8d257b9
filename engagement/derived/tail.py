"""The tail path of the per-purchase tables (issue 20): a weekly file adds purchases after each customer's last one.

``engagement/derived/update.py`` replaces every row of a changed customer ("customers" mode): for order_facts
and purchases that rewrites a customer's whole history, read with a semi-join on the text id that
decompresses every vector of a 4M-row table. For most customers a weekly file (or the undo of the latest one) only
changes the end of their history, so here:

- a *tail customer* of an orders change is one whose purchases before the change and after it share a prefix and
  differ only after it: every added purchase is later than the customer's stored last purchase (strictly: a tie
  of timestamps is ordered by order id, which the customer's stored last state does not hold, so it takes the
  general path) and none removed; or none added and the removed purchases are the customer's latest ones, all
  strictly later than the last one kept (an undo of the latest load);
- the rows of a tail customer past the shared prefix are deleted, the boundary row (the last one kept) gets its
  "next purchase" column again, and the added purchases are numbered on from the customer's last state
  (customer_facts before the write: purchases, first and last purchase, revenue, which the revenue so far goes on
  from) and inserted;
- every other changed customer keeps the general path.

Rows of purchases repeat customer attributes (stage, channel...): those of a customer whose attributes changed are
updated in place (an UPDATE of those columns by the integer key: 0.07 CPU s for 75,000 of 4M rows, where reading
them to delete and insert cost 0.25 s before their writes); a customer whose stage alone moved (most of them: "as
of" moved) gets that column alone, from a temporary table of keys and stages (:func:`attributes_changed`).
customer_facts of a tail customer follows from its stored row and the change (:func:`facts_updated`).

The additive per-group tables (``sums``) purchase_days and cohort_cells then add, for a tail customer whose
grouping attributes did not change, only the difference of the rows past the prefix, with a stand-in for the
boundary row counted before and after (:data:`TAIL_SUMS` says why that is exact for them).

Measured on a 5M-order / 500,000-customer database, a 10,000-order weekly file in process (CPU s of the derived
update): 4.0 -> 2.0 for the load, 3.9 -> 2.3 for its undo; order_facts + purchases + purchase_states (since folded
into the other two) 1.6 -> 0.6, customer_facts 0.45 -> 0.1 for the load, and 0.44-0.50 -> 0.10 for the undo
once the customers it leaves without a purchase (the file's new customers) are set from their stored row
(:func:`facts_emptied`; 6 Dec 2026, load average 7-8). tests/test_incremental_derived.py compares every table with
a full rebuild after appends, undos of the latest load, backfills and same-timestamp ties.
"""

from __future__ import annotations

from typing import Callable

import duckdb

from engagement.sql import quote_identifier as q

# The tables kept by the tail path: each customer's purchases, numbered in time order (ties by order id) by the
# column given, with the column holding the next purchase's time (its value on the latest purchase).
NUMBER = {"order_facts": "order_number", "purchases": "order_number"}
ENDS = {"order_facts": ("next_ordered_at", "NULL::TIMESTAMP"), "purchases": ("next_ordered_at", "'infinity'::TIMESTAMP")}
# "sums" entries whose difference for a tail customer with unchanged grouping attributes is that of the rows past
# the prefix, the boundary row counted before and after: purchase_days sums each purchase row on its own (its day,
# number and revenue); cohort_cells counts per customer and period, and every earlier kept purchase lies in the
# boundary's period or before it, so the boundary alone stands for them (that period is active before and after,
# and its purchases and revenue change by the added or removed ones only).
TAIL_SUMS = frozenset({"purchase_days", "cohort_cells"})
# customer_summary columns that group or select rows of the tail sums; a tail customer any of which changed takes
# the general path there (its every row moves group). Not the lifecycle stage: the sums carry none.
GROUPING = ("acquisition_channel", "is_loyalty_member", "customer_key", "first_order_at",
            "is_first_order_discounted", "cohort_month")
# A purchase, as derived/order_facts.sql selects them.
PURCHASE = "status NOT IN ('refunded', 'cancelled') AND customer_id IS NOT NULL"
CUSTOMERS = "tail__customers"
# The derived update's maker of temporary tables (name, SELECT) -> name: it drops them when the update ends.
Temp = Callable[..., str]  # (name, SELECT, parameters=None)


def classify(cur: duckdb.DuckDBPyConnection, temp: Temp, added: str, removed: str, touched: str) -> str:
    """Temporary table ``tail__customers`` of the tail customers among ``touched`` (customers of the orders change,
    a temporary table), from the stored customer_facts and purchases before they are updated: customer_id,
    kept (purchases kept: the boundary's number), added, removed, first_added_at (the boundary's next purchase),
    boundary_at (the boundary's time) and
    kept_revenue (the revenue of the purchases kept: the revenue so far of the boundary).
    ``tail__added`` and ``tail__removed`` hold the change's purchases."""
    columns = "order_id, customer_id, ordered_at, net_revenue, coalesce(discount, 0) AS discount"
    temp("tail__added", f"SELECT {columns} FROM ({added}) AS a WHERE {PURCHASE}")
    temp("tail__removed", f"SELECT {columns} FROM ({removed}) AS r WHERE {PURCHASE}")
    temp(CUSTOMERS, f"""
        WITH a AS (SELECT customer_id, count(*) AS n, min(ordered_at) AS first_at FROM tail__added GROUP BY ALL),
        r AS (SELECT customer_id, count(*) AS n, sum(net_revenue) AS revenue FROM tail__removed GROUP BY ALL),
        every AS (  -- every order row of the change, purchase or not
            SELECT customer_id, count(*) AS n FROM (SELECT customer_id FROM ({added}) AS a UNION ALL
                                                    SELECT customer_id FROM ({removed}) AS r) AS o GROUP BY ALL
        ),
        c AS (
            SELECT t.customer_id, coalesce(f.order_count, 0) AS old_count, coalesce(a.n, 0) AS added,
                   coalesce(r.n, 0) AS removed, coalesce(every.n, 0) - coalesce(a.n, 0) - coalesce(r.n, 0) AS others,
                   f.customer_id IS NOT NULL AS has_facts, a.first_at AS first_added_at, f.last_order_at AS boundary_at,
                   NULL::DOUBLE AS boundary_gap,
                   coalesce(f.revenue, 0) - coalesce(r.revenue, 0) AS kept_revenue, k.customer_key
            FROM {q(touched)} AS t
            LEFT JOIN a USING (customer_id) LEFT JOIN r USING (customer_id) LEFT JOIN every USING (customer_id)
            LEFT JOIN main.customer_facts AS f USING (customer_id)
            LEFT JOIN main.customer_keys AS k USING (customer_id)
        )
        SELECT *, old_count - removed AS kept FROM c
        WHERE (removed = 0 AND (old_count = 0 OR added = 0 OR first_added_at > boundary_at))
           OR (added = 0 AND removed > 0)""")
    removing, first = cur.execute(f"SELECT count(*) FILTER (WHERE removed > 0 AND kept > 0), "
                                  f"(SELECT min(ordered_at) FROM tail__removed) FROM {CUSTOMERS}").fetchall()[0]
    if removing:
        # Removals are a tail only when they are the customer's latest purchases: the last purchase kept comes
        # strictly before the first removed one (the removed orders were purchases of this customer, so they are
        # then exactly the ones numbered after it; a tie of times takes the general path). Read from
        # purchases (before its update: numbered as order_facts) by the integer key, about half the cost of
        # reading order_facts by the text id. The next purchase of the row numbered ``kept`` is never before the
        # customer's first removed one (either that row comes after it, or the rows after it are as many as the
        # removed ones, so they are the removed ones): a filter the scan applies before the join.
        temp("tail__boundaries", f"""
            SELECT c.customer_id, s.ordered_at, s.days_since_previous_order
            FROM main.purchases AS s
            JOIN {CUSTOMERS} AS c ON s.customer_key = c.customer_key AND s.order_number = c.kept
            WHERE c.removed > 0 AND c.kept > 0 AND s.next_ordered_at >= $first""", {"first": first})
        cur.execute(f"""
            DELETE FROM {CUSTOMERS} WHERE removed > 0 AND kept > 0 AND customer_id NOT IN (
                SELECT b.customer_id FROM tail__boundaries AS b
                JOIN (SELECT customer_id, min(ordered_at) AS first FROM tail__removed GROUP BY ALL) AS r
                USING (customer_id)
                WHERE b.ordered_at < r.first)""")
        cur.execute(f"UPDATE {CUSTOMERS} AS c SET boundary_at = b.ordered_at, "
                    "boundary_gap = b.days_since_previous_order FROM tail__boundaries AS b "
                    "WHERE c.customer_id = b.customer_id AND c.removed > 0")
    return CUSTOMERS


def numbered(source: str) -> str:
    """order_facts rows of the tail customers' purchases in ``source`` (added or removed ones: all past the
    boundary), numbered on from the boundary, their revenue so far going on from the boundary's."""
    return f"""
        WITH numbered AS (
            SELECT a.order_id, a.customer_id, a.ordered_at, a.net_revenue, a.discount,
                   c.kept + row_number() OVER w AS order_number,
                   -- The boundary's time before the first; none when no purchase is kept (a removed first
                   -- purchase has no previous one: cohort_cells counts a period as opened on such a row).
                   coalesce(lag(a.ordered_at) OVER w, CASE WHEN c.kept > 0 THEN c.boundary_at END)
                       AS previous_ordered_at,
                   lead(a.ordered_at) OVER w AS next_ordered_at,
                   (c.kept_revenue + sum(a.net_revenue) OVER w)::DECIMAL(38, 2) AS revenue_so_far
            FROM {q(source)} AS a JOIN {CUSTOMERS} AS c USING (customer_id)
            WINDOW w AS (PARTITION BY a.customer_id ORDER BY a.ordered_at, a.order_id
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        SELECT *, epoch(ordered_at - previous_ordered_at) / 86400.0 AS days_since_previous_order
        FROM numbered"""


def edges() -> str:
    """A stand-in for the boundary row of each tail customer whose rows change (order_facts columns): its number
    and time, no revenue. Counted both before and after in the tail sums, where it cancels but for the period it
    keeps active."""
    return f"""
        SELECT NULL::VARCHAR AS order_id, customer_id, boundary_at AS ordered_at, 0::DECIMAL(18, 2) AS net_revenue,
               0::DECIMAL(18, 2) AS discount, kept AS order_number, NULL::TIMESTAMP AS previous_ordered_at,
               NULL::TIMESTAMP AS next_ordered_at,
               NULL::DOUBLE AS days_since_previous_order, kept_revenue::DECIMAL(38, 2) AS revenue_so_far
        FROM {CUSTOMERS} WHERE kept > 0 AND added + removed > 0"""


def keep(cur: duckdb.DuckDBPyConnection, name: str, new_rows: str) -> None:
    """Change ``name`` for the tail customers: delete the removed rows, set the boundary's next purchase again and
    insert ``new_rows`` (a SELECT of the added purchases' rows by column name). The deletes and the update find
    their rows by a join on (customer, number): two narrow columns read, not every column of the table."""
    number, (ends, last) = NUMBER[name], ENDS[name]
    # By the integer key where the table has it: 3-4x cheaper than by the text id (0.07 against 0.23 CPU s for
    # 10,000 customers in 4M purchases).
    key = "customer_key" if "customer_key" in [d[0] for d in cur.execute(
        f"SELECT * FROM main.{q(name)} LIMIT 0").description] else "customer_id"
    first = cur.execute(f"SELECT min(r.ordered_at) FROM tail__removed AS r JOIN {CUSTOMERS} AS c USING (customer_id) "
                        "WHERE c.removed > 0").fetchall()[0][0]
    if first is not None:
        # The rows deleted are the removed purchases, none earlier than the first of them: that bound lets the scan
        # skip the row groups holding only earlier purchases (all but the latest load's, in an undo of it).
        cur.execute(f"DELETE FROM main.{q(name)} AS x USING {CUSTOMERS} AS c WHERE x.{key} = c.{key} "
                    f"AND c.removed > 0 AND x.{q(number)} > c.kept AND x.ordered_at >= $first", {"first": first})
    # The boundary row is the customer's latest before the change (purchases only added: its next purchase is the
    # end value) or the one just before its first removed purchase (its next purchase is that one, not before
    # ``first``): a filter the scan applies before the join (order_facts by the text id, 9,500 customers in 3.75M
    # rows: 0.155 -> 0.104 CPU s under load).
    latest = f"x.{q(ends)} IS NULL" if last == "NULL::TIMESTAMP" else f"x.{q(ends)} = {last}"
    boundary = latest if first is None else f"({latest} OR x.{q(ends)} >= $first)"
    cur.execute(f"UPDATE main.{q(name)} AS x SET {q(ends)} = coalesce(c.first_added_at, {last}) FROM {CUSTOMERS} AS c "
                f"WHERE x.{key} = c.{key} AND c.kept > 0 AND c.added + c.removed > 0 "
                f"AND x.{q(number)} = c.kept AND {boundary}", {"first": first} if first is not None else None)
    cur.execute(f"INSERT INTO main.{q(name)} BY NAME {new_rows}")


def facts_updated(cur: duckdb.DuckDBPyConnection, temp: Temp, others: list[str]) -> str:
    """Update customer_facts in place for the tail customers whose facts follow from their last state and the
    change alone: a stored row, purchases only added or only removed (some kept), no other order row of theirs
    in the change and no row of another kind (``others``: temporary tables of the customers other kinds touched).
    Returns the temporary table of those customers (the rest of the changed customers take the general path).
    Created is the first activity of an implied customer: a purchase after the last can only move it earlier
    when there was none; the first purchase and its revenue stay when any is kept."""
    not_other = "".join(f" AND customer_id NOT IN (SELECT customer_id FROM {q(o)})" for o in others)
    updated = temp("tail__facts", f"""
        SELECT customer_id FROM {CUSTOMERS}
        WHERE has_facts AND others = 0 AND ((added > 0 AND removed = 0) OR (added = 0 AND removed > 0 AND kept > 0))
        {not_other}""")
    cur.execute(f"""
        UPDATE main.customer_facts AS f SET
            order_count = u.kept + u.added,
            revenue = (f.revenue + u.delta_revenue)::DECIMAL(38, 2),
            last_order_at = u.last_at,
            gap_before_last_order_days = u.gap,
            first_order_at = coalesce(f.first_order_at, u.first_at),
            first_order_revenue = CASE WHEN f.order_count = 0 THEN u.first_revenue ELSE f.first_order_revenue END,
            is_first_order_discounted = CASE WHEN f.order_count = 0 THEN u.first_discounted
                                             ELSE f.is_first_order_discounted END,
            cohort_month = date_trunc('month', coalesce(f.first_order_at, u.first_at))::DATE,
            created_at = CASE WHEN f.is_implied THEN least(f.created_at, u.first_at) ELSE f.created_at END
        FROM (
            SELECT c.customer_id, c.kept, c.added,
                   coalesce(n.revenue, 0) - coalesce(g.revenue, 0) AS delta_revenue,
                   coalesce(n.last_at, c.boundary_at) AS last_at,
                   CASE WHEN c.added > 0 THEN n.gap ELSE c.boundary_gap END AS gap,
                   n.first_at, n.first_revenue, n.first_discounted
            FROM {CUSTOMERS} AS c
            LEFT JOIN (SELECT customer_id, sum(net_revenue) AS revenue, max(ordered_at) AS last_at,
                              arg_max(days_since_previous_order, order_number) AS gap, min(ordered_at) AS first_at,
                              arg_min(net_revenue, order_number) AS first_revenue,
                              arg_min(discount, order_number) > 0 AS first_discounted
                       FROM tail_new__order_facts GROUP BY ALL) AS n USING (customer_id)
            LEFT JOIN (SELECT customer_id, sum(net_revenue) AS revenue FROM tail__removed GROUP BY ALL) AS g
                USING (customer_id)
            WHERE c.customer_id IN (SELECT customer_id FROM {q(updated)})
        ) AS u
        WHERE f.customer_id = u.customer_id""")
    return updated


def grouping_changed(cur: duckdb.DuckDBPyConnection, temp: Temp, old_summary: str | None) -> str:
    """Temporary table ``tail__regrouped`` of the customers whose :data:`GROUPING` columns of customer_summary the
    write changed (``old_summary``: the copy of the rewritten rows as they were; None when none was kept, then
    every tail customer counts as changed)."""
    name = "tail__regrouped"
    if old_summary is None:
        return temp(name, f"SELECT customer_id FROM {CUSTOMERS}")
    columns = [r[0] for r in cur.execute("SELECT * FROM main.customer_summary LIMIT 0").description]
    grouping = [c for c in GROUPING if c in columns]
    old = ", ".join(f"o.{q(c)}" for c in grouping)
    new = ", ".join(f"n.{q(c)}" for c in grouping)
    key = "customer_key" if "customer_key" in columns else "customer_id"  # the integer key: a cheaper join
    return temp(name,
                f"SELECT o.customer_id FROM {q(old_summary)} AS o LEFT JOIN main.customer_summary AS n "
                f"USING ({key}) WHERE n.customer_id IS NULL OR ({old}) IS DISTINCT FROM ({new})")


def attributes_changed(temp: Temp, attributes: list[str], cuts: list[str], general: str,
                       old_summary: str | None, cut_only: str | None) -> str:
    """Temporary table ``tail__restated`` of the customers outside ``general`` whose customer_summary
    ``attributes`` the write changed (``old_summary``: the copy of the replaced rows as they were; None when none
    was kept, then every tail customer counts as changed; ``cut_only``: the customers whose ``cuts`` alone it set in
    place, with their new values): customer_key, the new attributes (the cuts alone for ``cut_only``), and
    others_moved (an attribute other than the ``cuts`` changed; true for every one when no old rows were kept)."""
    new = ", ".join(f"n.{q(c)}" for c in attributes)
    rest = [c for c in attributes if c not in cuts]
    moved = "" if cut_only is None else (
        f"UNION ALL BY NAME SELECT customer_key, {', '.join(q(c) for c in cuts)}, false AS others_moved "
        f"FROM {q(cut_only)} WHERE customer_id NOT IN (SELECT customer_id FROM {q(general)})")
    if old_summary is None:
        return temp("tail__restated", f"SELECT n.customer_key, {new}, true AS others_moved "
                                      f"FROM main.customer_summary AS n WHERE n.customer_id IN "
                                      f"(SELECT customer_id FROM {CUSTOMERS}) AND n.customer_id NOT IN "
                                      f"(SELECT customer_id FROM {q(general)}) {moved}")

    def differ(columns: list[str]) -> str:
        if not columns:
            return "false"
        return (f"({', '.join(f'o.{q(c)}' for c in columns)}) IS DISTINCT FROM "
                f"({', '.join(f'n.{q(c)}' for c in columns)})")

    return temp("tail__restated", f"""
        SELECT n.customer_key, {new}, {differ(rest)} AS others_moved
        FROM {q(old_summary)} AS o JOIN main.customer_summary AS n USING (customer_key)
        WHERE {differ(attributes)} AND o.customer_id NOT IN (SELECT customer_id FROM {q(general)})
        {moved}""")


def facts_emptied(cur: duckdb.DuckDBPyConnection, temp: Temp, others: list[str], activity: tuple[str, ...]) -> str:
    """customer_facts of the tail customers whose every purchase the write removed (kept = 0: the undo of the load
    that brought them) and no other row (no other order row of theirs in the change, no row of another kind:
    ``others``). After the write they have no purchase, so their row is that of a customer without one: the purchase
    columns emptied, the rest unchanged, where "created" stays (a customers record sets it, or an earlier
    activity the write did not remove); an implied customer created at its first removed purchase keeps a row
    only if another activity of its own is left (``activity``: the kinds customer_facts reads), looked up for
    those customers alone, and is deleted when none is. Returns the temporary table of the customers so kept
    (updated or deleted); the ones with activity left take the general path. Without this, the customers new to
    an undone weekly file took the general path (customer_facts' SQL over the orders, order facts, events...
    narrowed to them): 0.44-0.50 CPU s of the undo's customer_facts entry at 5M orders, 0.10 with it."""
    not_other = "".join(f" AND customer_id NOT IN (SELECT customer_id FROM {q(o)})" for o in others)
    temp("tail__emptied_all", f"""
        SELECT c.customer_id, coalesce(NOT f.is_implied OR f.created_at < r.first_at, false) AS created_stays
        FROM {CUSTOMERS} AS c JOIN main.customer_facts AS f USING (customer_id)
        JOIN (SELECT customer_id, min(ordered_at) AS first_at FROM tail__removed GROUP BY ALL) AS r USING (customer_id)
        WHERE c.has_facts AND c.others = 0 AND c.added = 0 AND c.removed > 0 AND c.kept = 0 {not_other}""")
    # Looked up by a semi-join on these ids, whose range DuckDB pushes into the scan: row groups outside it are
    # skipped (new ids of a weekly file often sort after the stored ones), the rest read one column.
    unsure = "SELECT customer_id FROM tail__emptied_all WHERE NOT created_stays"
    emptied = "tail__emptied_all"
    if cur.execute(f"SELECT count(*) FROM ({unsure})").fetchall()[0][0]:
        left = temp("tail__left", " UNION ".join(
            f"SELECT customer_id FROM main.{q(kind)} WHERE customer_id IN ({unsure})" for kind in activity))
        emptied = temp("tail__emptied", "SELECT * FROM tail__emptied_all "
                                        f"WHERE customer_id NOT IN (SELECT customer_id FROM {q(left)})")
    cur.execute(f"""
        UPDATE main.customer_facts AS f SET
            first_order_at = NULL, last_order_at = NULL, order_count = 0, revenue = 0::DECIMAL(38, 2),
            first_order_revenue = NULL, is_first_order_discounted = false, gap_before_last_order_days = NULL,
            cohort_month = NULL
        FROM {q(emptied)} AS e WHERE f.customer_id = e.customer_id AND e.created_stays""")
    cur.execute(f"DELETE FROM main.customer_facts WHERE customer_id IN "
                f"(SELECT customer_id FROM {q(emptied)} WHERE NOT created_stays)")
    return emptied

