"""Customers whose cut column alone moved (issue 20): the derived update's part for them in the ``sums`` tables.

A load moves the dataset's cuts ("as of", the at-risk and lapsed days), and with them the stage of customers whose
own rows did not change (15,000 of 500,000 for a 10,000-order weekly file, against 10,000 it names). A sum adds a
changed customer's rows after the write and subtracts them before it, which read such a customer's whole history
twice, though only the stage on every row differs. Here their history is read once: their rows carry the old and
the new stage joined in the cut column, the entry's SQL groups them so, and each group is added under the new
stage and subtracted under the old one. Exact when the entry's SQL passes the cut column through as a group
column (the four sums do); ``tests/test_incremental_derived.py`` compares every table with a full rebuild.
"""

from __future__ import annotations

from engagement.derived.tail_path import with_inputs
from engagement.sql import quote_identifier as q
from engagement.sql import read_sql
from engagement.warehouse.schema import KINDS

# Tables repeating the compared entry's cut column on their rows (updated in place when it moves): purchases.
CARRIERS = frozenset({"purchases"})
JOINED = "chr(31)"  # between the old and the new value of the cut column (stage names never hold it)


class CutMovers:
    """Methods of the derived update (``engagement/derived/update.py``'s ``_Update`` inherits them); they use its
    cursor, temporary tables, entries, the customers changed per table (``changed``) and ``_narrowed``."""

    cut_movers: tuple[str, str, str] | None = None  # (compared entry, its cut column, movers' temporary table)

    def _note_cut_movers(self, entry, differ: str, changed: str) -> None:
        """After a compared entry's rows were replaced: keep the customers of ``differ`` whose own inputs did not
        change (not in ``changed``), with their key and the old and new cut value joined."""
        if len(entry.cut_columns) != 1 or entry.name not in self.keyed or entry.name not in self.needs_old:
            return
        (cut,) = entry.cut_columns
        c = q(cut)
        self.cut_movers = (entry.name, cut, self._temp(f"cut_only__{entry.name}", f"""
            SELECT o.customer_id, n.customer_key, o.{c} || {JOINED} || n.{c} AS moved
            FROM {q('old__' + entry.name)} AS o JOIN main.{q(entry.name)} AS n USING (customer_id)
            WHERE o.customer_id IN (SELECT customer_id FROM {q(differ)})
              AND o.customer_id NOT IN (SELECT customer_id FROM {q(changed)})
              AND o.{c} IS NOT NULL AND n.{c} IS NOT NULL"""))

    def _movers(self, entry, affected: str, groups: list[str]) -> str | None:
        """Temporary table of the customers of ``affected`` whose rows of every input of ``entry`` changed only in
        the cut column; None when the entry does not group by it or an input was rebuilt whole."""
        if self.cut_movers is None:
            return None
        summary, cut, movers = self.cut_movers
        if not {summary, *CARRIERS} & set(entry.inputs) or cut not in groups:
            return None
        excluded = []
        for i in entry.inputs:
            if i in (summary, "dataset_facts"):
                continue
            if i not in KINDS and i not in CARRIERS:
                return None
            # A carrier's rows changed for a customer through its other inputs too (purchases: order_facts).
            for source in (self.entries[i].inputs if i in CARRIERS else (i,)):
                if source in (summary, "dataset_facts"):
                    continue
                got = self.changed.get(source)
                if got == "all":
                    return None
                if got is not None:
                    excluded.append(f" AND customer_id NOT IN (SELECT customer_id FROM {q(got)})")
        return self._temp(f"movers__{entry.name}", f"SELECT * FROM {q(movers)} WHERE customer_id IN "
                                                   f"(SELECT customer_id FROM {q(affected)})" + "".join(excluded))

    def _moved_sums(self, entry, movers: str, groups: list[str], measures: list[str]) -> tuple[str, list[str]]:
        """(a CTE ``moved``: the entry's SQL over the movers' rows, grouped by the joined cut values; the two
        SELECTs adding them under the new value and subtracting them under the old)."""
        summary, cut, _ = self.cut_movers
        shadows = {}
        for i in entry.inputs:
            if i == "dataset_facts":
                continue
            if i == summary or i in CARRIERS:  # by the integer key, each row's cut column the joined values
                shadows[i] = (f"SELECT x.* REPLACE (m.moved AS {q(cut)}) FROM main.{q(i)} AS x "
                              f"JOIN {q(movers)} AS m ON x.customer_key = m.customer_key")
            else:
                shadows[i] = self._narrowed(i, movers)
        moved = f"moved AS MATERIALIZED ({with_inputs(read_sql(f'derived/{entry.name}'), shadows)})"

        def under(part: int, sign: str) -> str:
            columns = [f"split_part({q(cut)}, {JOINED}, {part}) AS {q(cut)}" if c == cut else q(c) for c in groups]
            return f"SELECT {', '.join(columns)}, {', '.join(f'{sign}{q(m)} AS {q(m)}' for m in measures)} FROM moved"

        return moved, [under(2, ""), under(1, "-")]
