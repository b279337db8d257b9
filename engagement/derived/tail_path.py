"""The tail path's part of the derived update (``engagement/derived/update.py``'s ``_Update`` inherits it): which
customers' rows of order_facts, purchases and customer_facts it keeps (``engagement/derived/
tail.py`` holds its SQL), and the rows the tail sums read before and after the write."""

from __future__ import annotations

import re

from engagement.derived import tail
from engagement.sql import quote_identifier as q
from engagement.sql import read_sql
from engagement.warehouse.schema import KINDS

OLD_ROWID = "old__rowid"  # in a copy of a table's replaced rows (old__<name>): where each row was


def with_inputs(sql: str, shadows: dict[str, str]) -> str:
    """``sql`` (a file starting with ``with``, after its comments) with each name in ``shadows`` read from the
    given SELECT instead: CTEs of the same names, placed first, which the file's own CTEs and FROMs then see."""
    if not shadows:
        return sql
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    match = re.match(r"\s*with\s", body, flags=re.I)
    ctes = ",\n".join(f"{q(name)} as ({select})" for name, select in shadows.items())
    if match:
        return f"with {ctes},\n" + body[match.end():]
    return f"with {ctes}\n" + body


class TailPath:
    """Methods of the derived update for the tail path; they use its cursor (``cur``), change, temporary tables
    (``_temp``, ``temp``), the customers changed per table (``changed``) and its row selections (``_narrowed``,
    ``_before``, ``_shadows``, ``_replace_rows``)."""

    split: dict  # tail sum -> (its affected customers, _tail_same's answer for them)

    def _before_tail(self, table: str, affected: str, current: str) -> str:
        """``table``'s rows of the affected customers before the write, where the tail path changed it: the old
        copy for the customers replaced whole; for the tail customers, their stored rows up to the boundary and
        their removed rows (``tail_gone__``; the boundary's "next purchase" column is the new one: the sums read
        none); in purchases, the attributes the customers had (old__customer_summary)."""
        copied, number = q(self.copied[table]), q(tail.NUMBER[table])
        in_affected = f"customer_id IN (SELECT customer_id FROM {q(affected)})"
        replace, join = "", ""
        if table == "purchases" and "old__customer_summary" in self.temp:
            replace = " REPLACE (" + ", ".join(
                f"CASE WHEN o.customer_id IS NULL THEN t.{q(c)} ELSE o.{q(c)} END AS {q(c)}"
                for c in self._attributes()) + ")"
            join = "LEFT JOIN old__customer_summary AS o ON o.customer_id = t.customer_id"
        parts = [f"SELECT t.*{replace} FROM ({current}) AS t {join} LEFT JOIN {tail.CUSTOMERS} AS c "
                 f"ON c.customer_id = t.customer_id WHERE t.customer_id NOT IN (SELECT customer_id FROM {copied}) "
                 f"AND (c.customer_id IS NULL OR t.{number} <= c.kept)"]
        if table in self.needs_old:
            parts.append(f"SELECT * EXCLUDE ({OLD_ROWID}) FROM {q('old__' + table)} WHERE {in_affected}")
        parts.append(f"SELECT * FROM {q('tail_gone__' + table)} WHERE {in_affected}")
        return " UNION ALL BY NAME ".join(parts)

    def _tail_same(self, name: str, affected: str) -> tuple[str, str] | None:
        """For a tail sum: (the affected customers taking the general path, the affected tail customers whose
        grouping did not change), as temporary tables; None when the tail path was not taken."""
        if name not in tail.TAIL_SUMS or self.tail is None or self.regrouped is None:
            return None
        if self.split.get(name, (None,))[0] == affected:  # the sum's "before" reads the split its "after" made
            return self.split[name][1]
        ours = self._temp(f"same__{name}", f"SELECT customer_id FROM {q(self.tail)} WHERE kept > 0 "
                          f"AND customer_id NOT IN (SELECT customer_id FROM {q(self.regrouped)}) "
                          f"AND customer_id IN (SELECT customer_id FROM {q(affected)})")
        rest = self._temp(f"rest__{name}", f"SELECT customer_id FROM {q(affected)} "
                          f"WHERE customer_id NOT IN (SELECT customer_id FROM {q(ours)})")
        self.split[name] = (affected, (rest, ours))
        return rest, ours

    def _tail_taken(self, name: str) -> bool:
        if name == "order_facts":
            orders = self.changed.get("orders")
            if orders is None or orders == "all" or "customer_facts" not in self.tables:
                return False
            added, removed = self.change.kinds["orders"]
            self.tail = tail.classify(self.cur, self._temp, added, removed, orders)
        return self.tail is not None

    def _tail_rows(self, entry, affected: str) -> None:
        """Keep ``entry`` (order_facts, purchases) for ``affected``: the tail customers by the
        tail path, the rest (general) replaced whole; in purchases, the rows of customers whose attributes changed
        are updated in place."""
        cur, name = self.cur, entry.name
        # purchases: the customers of the changed order facts; the others' rows change in their attributes only.
        of = self.changed["order_facts"] if name == "purchases" else affected
        general = self._temp(f"general__{name}", f"SELECT customer_id FROM {q(of)} "
                                                 f"WHERE customer_id NOT IN (SELECT customer_id FROM {tail.CUSTOMERS})")
        if name == "purchases":
            old_summary = "old__customer_summary" if "old__customer_summary" in self.temp else None
            self.regrouped = tail.grouping_changed(cur, self._temp, old_summary)
        self.copied[name] = general
        has_general = cur.execute(f"SELECT count(*) FROM {q(general)}").fetchall()[0][0] > 0
        if name in self.needs_old:
            # Copied with each row's rowid (see _replace_rows): the sums read the whole old rows of these.
            where = f"customer_id IN (SELECT customer_id FROM {q(general)})" if has_general else "false"
            old = self._temp(f"old__{name}", f"SELECT rowid AS {OLD_ROWID}, * FROM main.{q(name)} WHERE {where}")
            if has_general:
                cur.execute(f"DELETE FROM main.{q(name)} WHERE rowid IN (SELECT {OLD_ROWID} FROM {q(old)})")
        elif has_general:
            cur.execute(f"DELETE FROM main.{q(name)} WHERE customer_id IN (SELECT customer_id FROM {q(general)})")
        # Read by the tail sums: the rows past the boundary kept as temporary tables.
        for part in ("new", "gone", "edge"):
            self._temp(f"tail_{part}__{name}", self._tail_of(name, part))
        tail.keep(cur, name, f"SELECT * FROM tail_new__{name}")
        if has_general:
            sql = with_inputs(read_sql(f"derived/{name}"), self._shadows(entry, general))
            cur.execute(f"INSERT INTO main.{q(name)} {sql}")
        if name == "purchases":
            self._restate(general)
        self.changed[name] = affected

    def _restate(self, general: str) -> None:
        """Update in place the customer attributes purchases repeats (the stage among them) for the customers,
        not replaced whole (``general``), whose attributes changed. A stage moved by "as of" and the cuts (about
        25,000 customers after a weekly file at 500,000) is the usual change: that column alone is set, from a
        temporary table of (key, stage), which costs about half of setting every attribute from customer_summary."""
        attributes = [c for c in self._attributes() if c != "customer_key"]
        cuts = [c for c in attributes if c in self.entries["customer_summary"].cut_columns]
        old_summary = "old__customer_summary" if "old__customer_summary" in self.temp else None
        restated = tail.attributes_changed(self._temp, attributes, cuts, general, old_summary,
                                           self.cut_only.get("customer_summary"))
        for columns, which in ((cuts, "NOT r.others_moved"), (attributes, "r.others_moved")):
            if columns and self.cur.execute(f"SELECT count(*) FROM {q(restated)} AS r WHERE {which}").fetchall()[0][0]:
                sets = ", ".join(f"{q(c)} = r.{q(c)}" for c in columns)
                self.cur.execute(f"UPDATE main.purchases AS x SET {sets} FROM {q(restated)} AS r "
                                 f"WHERE x.customer_key = r.customer_key AND {which}")

    def _tail_facts(self, entry, affected: str) -> None:
        """customer_facts: updated in place for the tail customers whose facts follow from their last state
        (tail.facts_updated) or who have no purchase left (tail.facts_emptied: deleted when nothing of theirs
        is); the customers new to this write computed from its added rows (they have no other);
        the rest replaced whole. Each of the latter two reads nothing when it has no customer: the whole reads of
        orders, order_facts and events narrowed to the changed customers were most of this entry's cost."""
        cur, name = self.cur, entry.name
        others = [t for k, t in self.changed.items() if k in KINDS and k != "orders"]
        updated = tail.facts_updated(cur, self._temp, others)
        emptied = tail.facts_emptied(cur, self._temp, others,
                                     tuple(i for i in entry.inputs if i in KINDS and i != "customers"))
        cur.execute(f"INSERT INTO {q(updated)} SELECT customer_id FROM {q(emptied)}")  # both kept in place
        new_keys = self.changed.get("customer_keys")
        new = self._temp("new_ids__customer_facts", f"SELECT customer_id FROM {q(affected)} WHERE customer_id NOT IN "
                         f"(SELECT customer_id FROM {q(updated)})" + (
                             f" AND customer_id IN (SELECT customer_id FROM {q(new_keys)})"
                             if new_keys not in (None, "all") else " AND false"))
        general = self._temp("general__customer_facts", f"SELECT customer_id FROM {q(affected)} WHERE customer_id NOT IN "
                             f"(SELECT customer_id FROM {q(updated)}) AND customer_id NOT IN "
                             f"(SELECT customer_id FROM {q(new)})")
        if cur.execute(f"SELECT count(*) FROM {q(new)}").fetchall()[0][0]:
            theirs = f"customer_id IN (SELECT customer_id FROM {q(new)})"
            shadows = {i: (f"SELECT * FROM ({self.change.kinds[i][0]}) AS a WHERE {theirs}" if i in self.change.kinds
                           else f"SELECT * FROM main.{q(i)} WHERE false") for i in entry.inputs if i in KINDS}
            shadows["order_facts"] = f"SELECT * FROM tail_new__order_facts WHERE {theirs}"
            shadows["customer_keys"] = f"SELECT * FROM main.customer_keys WHERE {theirs}"
            cur.execute(f"INSERT INTO main.{q(name)} " + with_inputs(read_sql(f"derived/{name}"), shadows))
        if cur.execute(f"SELECT count(*) FROM {q(general)}").fetchall()[0][0]:
            self._replace_rows(name, general,
                               with_inputs(read_sql(f"derived/{name}"), self._shadows(entry, general)))
        self.changed[name] = affected

    def _tail_of(self, name: str, part: str) -> str:
        """A SELECT of ``name``'s rows of the tail customers: ``new`` (the added purchases), ``gone`` (the removed
        ones, as they were) or ``edge`` (tail.edges, the boundary's stand-in)."""
        if name == "order_facts":
            return tail.edges() if part == "edge" else tail.numbered("tail__added" if part == "new" else "tail__removed")
        theirs = f"customer_id IN (SELECT customer_id FROM {tail.CUSTOMERS})"
        # By the integer key where the table has it (tail.CUSTOMERS holds it): 0.03 -> 0.01 CPU s per read at 500,000.
        key = "customer_key" if "customer_summary" in self.keyed else "customer_id"
        summary = f"SELECT * FROM main.customer_summary WHERE {key} IN (SELECT {key} FROM {tail.CUSTOMERS})"
        if part == "gone" and "old__customer_summary" in self.temp:  # the attributes the customer had
            summary = (f"SELECT * EXCLUDE ({OLD_ROWID}) FROM old__customer_summary WHERE {theirs} UNION ALL BY NAME "
                       f"{summary} AND customer_id NOT IN (SELECT customer_id FROM old__customer_summary)")
        return with_inputs(read_sql(f"derived/{name}"), {
            "order_facts": f"SELECT * FROM tail_{part}__order_facts",
            "customer_summary": summary,
        })

    def _attributes(self) -> list[str]:
        """The customer attributes purchases repeats on every row (its columns from customer_summary)."""
        def columns(table: str) -> list[str]:
            return [d[0] for d in self.cur.execute(f"SELECT * FROM main.{q(table)} LIMIT 0").description]

        summary, facts = set(columns("customer_summary")), set(columns("order_facts"))
        return [c for c in columns("purchases") if c in summary and c not in facts]
