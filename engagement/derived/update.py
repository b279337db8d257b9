"""Keep the derived tables current after a load or undo by changing only what the load changed (issue 20).

The store hands the derived build a :class:`~engagement.warehouse.loading.Change`: for each canonical kind the
write touched, SQL selecting the rows it added and the rows it removed. From them come the touched customers;
each entry of ``engagement.derived.BUILD`` is then kept current the way it declares (``Derived.maintained``):

- ``appended``: new rows only (stable customer keys);
- ``customers``: every row belongs to one customer and depends only on that customer's rows, so the rows of the
  customers whose inputs changed are deleted and computed again from the same SQL file, its inputs narrowed to
  those customers (each input is shadowed by a CTE of the same name reading ``main.<input>``);
- ``compared``: one row per customer that depends on the dataset's cuts (customer_summary's stage): only the rows
  that differ are rewritten, so the customers whose stage a moved cut changed count as changed for the tables read
  downstream; found as the customers whose own inputs changed and those whose ``cut_columns`` (the only columns
  reading ``dataset_facts``) differ, computed for the customers between the cuts' old and new values
  (``Derived.cut_bounds``), or for every customer when those are not known;
- ``sums``: per-group additive sums over customers (per day, per cohort period): the changed customers' old
  contributions (the same SQL over their inputs before the write) are subtracted and their new ones added;
- ``deferred``: dropped (the stored views of the pages' default windows, and the RFM scores of one): their rows
  depend on "as of", which a weekly file moves, so keeping them costs a build; readers run the view's query on
  demand meanwhile (the same rows), and they are built again after the commit, before the model fits;
- ``rebuilt``: built whole (the one-row dataset facts).

An orders change takes the tail path (``engagement/derived/tail.py``) for the customers whose change is only at
the end of their history (a weekly file, the undo of the latest one): order_facts, purchases and customer_facts
get their new rows or values from each customer's last state instead of a rewrite of the whole history, and
purchase_days and cohort_cells add only those rows' difference where the customer's grouping stayed.
dataset_facts leaves out its percentile over every gap while counting shows the at-risk cut has not moved
(``engagement/derived/gap_cut.py``).

A write that touches a large share of the customers (an initial load) is rebuilt whole: replacing most rows
one customer at a time costs more than building them. ``tests/test_incremental_derived.py`` checks that after
random small loads and undos every derived table equals a full rebuild, row for row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import duckdb

from engagement.derived import gap_cut, tail
from engagement.derived.tail_path import OLD_ROWID, TailPath, with_inputs as _with_inputs
from engagement.sql import quote_identifier as q
from engagement.sql import read_sql
from engagement.warehouse.schema import KINDS, TABLES

if TYPE_CHECKING:
    from engagement.warehouse.loading import Change
    from engagement.warehouse.store import Store

# A write touching more than this share of the customers, or of the purchases (through their customers), rebuilds
# every derived table instead: replacing most rows customer by customer costs more than building them, and
# DuckDB 2.0 was seen to let a concurrent reader see a large DELETE's rows still there beside the same
# transaction's INSERT after the commit (half of a table deleted and inserted again; a few percent never showed
# it in our runs), where CREATE OR REPLACE is one catalog change (tests/test_concurrency.py). Measured (warm, in
# process, 1M orders of 100,000 customers, files of orders after the data's end; 6 Dec 2026): the update cost 1.2,
# 1.6, 1.6, 1.7, 1.9, 3.2 and 4.8 CPU s for files touching 2, 5, 10, 18, 33, 55 and 86 % of the customers, a
# rebuild 4.8-6.7 CPU s at every size; 0.2 rebuilt writes the update did 3x cheaper. 0.4 keeps the margin below
# half a table deleted (the general path deletes its customers' rows), and counts each customer once across the
# kinds of a batch (a week of orders, events and surveys names many customers in two or three of them).
FULL_REBUILD_SHARE = 0.4


class _Update(TailPath):
    """One derived update in one write's transaction; temporary tables live on its cursor and are dropped at
    the end."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, change: Change, entries: dict, order: tuple[str, ...],
                 tables: tuple[str, ...], build_entry: Callable):
        self.cur = cur
        self.change = change
        self.entries, self.order, self.tables, self.build_entry = entries, order, tables, build_entry
        self.temp: list[str] = []
        self.keys: dict[str, str] = {}  # temporary table of customers -> that of their keys (_keys)
        self.split: dict[str, tuple] = {}  # tail sum -> its tail and other customers (TailPath._tail_same)
        # name -> temporary table of the customers whose rows of that table or kind changed; "all" when rebuilt.
        self.changed: dict[str, str] = {}
        # name -> temporary table of the customers among changed[name] whose rows changed only in columns computed
        # from the dataset's cuts (their stage, moved by "as of" and the at-risk and lapsed days): sums that read
        # no such column (Derived.reads_cuts) leave them out.
        self.cut_only: dict[str, str | None] = {}
        self.guests_touched = False
        # Entries a "sums" entry reads: their rows before the write are kept while it runs (old__<name>).
        self.needs_old = {i for e in entries.values() if e.maintained == "sums" for i in e.inputs}
        # The dataset-wide facts a compared entry's cut bounds read (Derived.cut_bounds): their row before the write
        # is kept (cuts_before__<name>), so that only the customers between the old and new bounds are compared.
        self.cut_sources = {i for e in entries.values() if e.cut_bounds for i in e.inputs
                            if entries.get(i) is not None and entries[i].maintained == "rebuilt"}
        # The tail path (engagement/derived/tail.py): the tail customers of the orders change, once order_facts
        # classified them; per table kept by it, the customers whose whole old rows were copied (old__<name>).
        self.tail: str | None = None
        self.copied: dict[str, str] = {}
        self.regrouped: str | None = None
        # Derived tables carrying the stable integer customer_key beside the id (rows are found by it).
        self.keyed = {r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_columns() WHERE NOT internal AND schema_name = 'main' "
            "AND column_name = 'customer_key' AND database_name = current_database()").fetchall()
            if r[0] in entries and r[0] != "customer_keys"}

    def run(self, store: Store) -> int | None:
        """Update every entry; the number of customers the write touched, or None (nothing written) when the
        write is better rebuilt whole."""
        touched = self._touched()
        if touched is not None:
            for name in self.order:
                if not self.entries[name].after_commit:
                    self._entry(store, name)
        for name in self.temp:
            self.cur.execute(f"DROP TABLE IF EXISTS temp.{q(name)}")
        return touched

    # ------------------------------------------------------------------ what the write touched
    def _touched(self) -> int | None:
        cur = self.cur
        kinds = []
        for kind, (added, removed) in self.change.kinds.items():
            table = self._temp(f"touched__{kind}",
                               f"SELECT DISTINCT customer_id FROM (({added}) UNION ALL ({removed})) AS rows "
                               "WHERE customer_id IS NOT NULL")
            self.changed[kind] = table
            kinds.append(f"SELECT customer_id FROM {q(table)}")
            if kind == "orders":
                self.guests_touched = bool(cur.execute(
                    f"SELECT count(*) FROM (({added}) UNION ALL ({removed})) AS rows WHERE customer_id IS NULL"
                ).fetchall()[0][0])
        existing = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if not set(self.tables) <= existing:
            return None  # a first load or a database whose derived tables another version built
        customers = cur.execute("SELECT count(*) FROM customer_keys").fetchall()[0][0]
        distinct = cur.execute(f"SELECT count(*) FROM ({' UNION '.join(kinds)})").fetchall()[0][0] if kinds else 0
        if distinct > FULL_REBUILD_SHARE * customers:
            return None
        touched = " UNION ".join(f"SELECT customer_id FROM {q(t)}" for t in self.changed.values()) or \
            "SELECT NULL::VARCHAR AS customer_id WHERE false"
        # Their purchases from customer_facts' counts (one row per customer; its order_count numbers the customer's
        # order_facts rows): the same figures as counting order_facts by the text id, 0.04 -> 0.01 CPU s at 5M.
        theirs, purchases = cur.execute(
            f"SELECT coalesce(sum(order_count) FILTER (WHERE customer_id IN ({touched})), 0), "
            "coalesce(sum(order_count), 0) FROM main.customer_facts"
        ).fetchall()[0]
        # Each customer once, whatever the kinds that name them: the refit decision (refits.REFIT_SHARE) counts
        # customers, as the threshold above does.
        return distinct if theirs <= FULL_REBUILD_SHARE * purchases else None

    def _temp(self, name: str, select: str, params: dict | None = None) -> str:
        self.cur.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS {select}", params)
        self.temp.append(name)
        self.keys.pop(name, None)
        return name

    def _keys(self, affected: str) -> str:
        """Temporary table of the integer keys of the customers in ``affected``, looked up once: each keyed
        table narrowed to them (before and after, per input) read customer_keys again by the text id."""
        if affected not in self.keys:
            keys = self._temp(f"keys__{affected}", f"SELECT customer_key FROM main.customer_keys "
                                                   f"WHERE customer_id IN (SELECT customer_id FROM {q(affected)})")
            self.keys[affected] = keys
        return self.keys[affected]

    # ------------------------------------------------------------------ inputs narrowed to customers
    def _affected(self, name: str, inputs: tuple[str, ...], reads_cuts: bool = True) -> str | None:
        """Temporary table of the customers whose inputs of ``name`` changed (when ``name`` does not read the cut
        columns, in other columns than those); None when an input was rebuilt whole (then ``name`` is too)."""
        parts = []
        for i in inputs:
            got = self.changed.get(i)
            if got == "all":
                return None
            if got is not None:
                cut_only = None if reads_cuts else self._cut_only(i)
                parts.append(f"SELECT customer_id FROM {q(got)}" + (
                    f" WHERE customer_id NOT IN (SELECT customer_id FROM {q(cut_only)})" if cut_only else ""))
        select = " UNION ".join(parts) if parts else "SELECT NULL::VARCHAR AS customer_id WHERE false"
        return self._temp(f"affected__{name}", select)

    def _cut_only(self, name: str) -> str | None:
        """Temporary table of the customers whose rows of ``name`` changed in its cut columns alone (None: no such
        customer is known). A compared entry finds them (_compare); an entry kept per customer inherits them from
        its inputs when no other input of theirs changed (purchases copies customer_summary's stage)."""
        if name not in self.cut_only:
            entry = self.entries.get(name)
            self.cut_only[name] = None
            if entry is not None and entry.maintained == "customers" and self.changed.get(name) not in (None, "all"):
                changed = {i: self.changed[i] for i in entry.inputs if i in self.changed}
                cut = {i: self._cut_only(i) for i in changed}
                if "all" not in changed.values() and any(cut.values()):
                    others = " UNION ".join(
                        f"SELECT customer_id FROM {q(t)}" + (
                            f" WHERE customer_id NOT IN (SELECT customer_id FROM {q(cut[i])})" if cut[i] else "")
                        for i, t in changed.items())
                    self.cut_only[name] = self._temp(
                        f"cut_only__{name}",
                        " UNION ".join(f"SELECT customer_id FROM {q(t)}" for t in cut.values() if t)
                        + f" EXCEPT ({others})")
        return self.cut_only[name]

    def _where(self, table: str, affected: str) -> str:
        """The rows of the affected customers (and every guest order, when the write touched one)."""
        where = f"customer_id IN (SELECT customer_id FROM {q(affected)})"
        if table in self.keyed:
            # By the integer key where the table has it: a semi-join on the text id decompresses and hashes every
            # id of the table (0.25 against 0.07 CPU s for 10,000 customers' rows of 4M purchases).
            where = f"customer_key IN (SELECT customer_key FROM {q(self._keys(affected))})"
        if table == "orders" and self.guests_touched:
            where += " OR customer_id IS NULL"
        return where

    def _narrowed(self, table: str, affected: str) -> str:
        """``table``'s current rows of the affected customers. (Materialising them once for a sum's before and
        after was measured and not taken: it reads every column, where each read of the SQL reads only those it
        needs; purchase_days 0.28 -> 0.71 CPU s at 5M orders.)"""
        return f"SELECT * FROM main.{q(table)} WHERE {self._where(table, affected)}"

    def _before(self, table: str, affected: str) -> str:
        """``table``'s rows of the affected customers as they were before the write."""
        current = self._narrowed(table, affected)
        if table in KINDS and table in self.change.kinds:
            added, removed = self.change.kinds[table]
            same = " AND ".join(f"a.{q(k)} = t.{q(k)}" for k in (*TABLES[table].key, "load_id"))
            narrowed_removed = f"SELECT * FROM ({removed}) AS t WHERE {self._where(table, affected)}"
            return (f"SELECT * FROM ({current}) AS t WHERE NOT EXISTS (SELECT 1 FROM ({added}) AS a WHERE {same}) "
                    f"UNION ALL {narrowed_removed}")
        rewritten = self.changed.get(table)
        if table in KINDS or rewritten is None:
            return current
        if table in self.copied:
            return self._before_tail(table, affected, current)
        before = (f"SELECT * FROM ({current}) AS t WHERE customer_id NOT IN (SELECT customer_id FROM {q(rewritten)}) "
                  f"UNION ALL SELECT * EXCLUDE ({OLD_ROWID}) FROM {q('old__' + table)} "
                  f"WHERE customer_id IN (SELECT customer_id FROM {q(affected)})")
        entry = self.entries.get(table)
        if entry is not None and entry.maintained == "compared" and self.cut_only.get(table):
            # The customers whose cut columns alone were set in place (_compare): their rows with the old values.
            was = ", ".join(f"m.{q('old__' + c)} AS {q(c)}" for c in entry.cut_columns)
            before += (f" UNION ALL SELECT t.* REPLACE ({was}) FROM ({current}) AS t "
                       f"JOIN {q(self.cut_only[table])} AS m USING (customer_id)")
        return before

    def _shadows(self, entry, affected: str, before: bool = False) -> dict[str, str]:
        shadows = {}
        same = self._tail_same(entry.name, affected)
        for i in entry.inputs:
            if i == "dataset_facts":
                continue  # one row for the whole dataset, read whole
            if same is not None and i in self.copied:
                # Tail customers with unchanged grouping: only their rows past the boundary, and a stand-in for
                # the boundary, before and after (tail.TAIL_SUMS says why that is exact).
                rest, ours = same
                theirs = f"WHERE customer_id IN (SELECT customer_id FROM {q(ours)})"
                past = q(("tail_gone__" if before else "tail_new__") + i)
                narrowed = self._before(i, rest) if before else self._narrowed(i, rest)
                shadows[i] = (f"{narrowed} UNION ALL BY NAME SELECT * FROM {q('tail_edge__' + i)} {theirs} "
                              f"UNION ALL BY NAME SELECT * FROM {past} {theirs}")
            else:
                shadows[i] = self._before(i, affected) if before else self._narrowed(i, affected)
        return shadows

    # ------------------------------------------------------------------ one entry
    def _entry(self, store: Store, name: str) -> None:
        entry = self.entries[name]
        mode = entry.maintained
        if mode == "deferred":  # built again after the commit (engagement.derived.restore_deferred)
            self.cur.execute(f"DROP TABLE IF EXISTS main.{q(name)}")
            self.changed[name] = "all"
            return
        affected = None if mode in ("rebuilt", "compared") else self._affected(name, entry.inputs, entry.reads_cuts)
        if name in self.cut_sources:
            self._temp(f"cuts_before__{name}", f"SELECT * FROM main.{q(name)}")
        kept = gap_cut.kept_gap_cut(self.cur) if name == "dataset_facts" and mode == "rebuilt" else None
        if kept is not None:  # the percentile over every gap left out (engagement/derived/gap_cut.py)
            shadow, params = kept
            self.cur.execute(f"CREATE OR REPLACE TABLE main.{q(name)} AS "
                             + _with_inputs(read_sql(f"derived/{name}"), {"order_facts": shadow}), params)
            self.changed[name] = "all"
        elif entry.build is not None or mode == "rebuilt" or (mode in ("customers", "sums") and affected is None):
            self.build_entry(store, self.cur, name)
            self.changed[name] = "all"
        elif mode == "appended":
            # New ids are among the ids of the rows the write added: read those, not every table narrowed to the
            # touched customers (which scanned every orders and events row for the ids).
            sql = _with_inputs(read_sql(f"derived/{name}"), {
                i: f"SELECT * FROM ({self.change.kinds[i][0]}) AS a" if i in self.change.kinds
                else f"SELECT * FROM main.{q(i)} WHERE false" for i in entry.inputs if i in KINDS})
            new = self._temp(f"new__{name}", sql)
            self.cur.execute(f"INSERT INTO {q(name)} SELECT * FROM {q(new)}")
            self.changed[name] = new
        elif mode == "customers" and name in tail.NUMBER and self._tail_taken(name):
            self._tail_rows(entry, affected)
        elif mode == "customers" and name == "customer_facts" and self.tail is not None:
            self._tail_facts(entry, affected)
        elif mode == "customers":
            self._replace_rows(name, affected, _with_inputs(read_sql(f"derived/{name}"), self._shadows(entry, affected)))
        elif mode == "compared":
            self._compare(entry)
        elif mode == "sums":
            self._add_differences(entry, affected)
        else:
            raise ValueError(f"{name}: unknown maintenance {mode!r}")

    def _replace_rows(self, name: str, affected: str, select: str) -> None:
        in_affected = self._where(name, affected)  # by the integer key where the table has it
        if name in self.needs_old:
            # The copy keeps each row's rowid: deleting by it reads no column of the table, where matching the
            # customer ids again decompressed every vector holding one of them (0.02 s against 0.18 s of CPU
            # for 75,000 of 4M purchases).
            self._temp(f"old__{name}", f"SELECT rowid AS {OLD_ROWID}, * FROM main.{q(name)} WHERE {in_affected}")
            self.cur.execute(f"DELETE FROM main.{q(name)} WHERE rowid IN (SELECT {OLD_ROWID} FROM {q('old__' + name)})")
        else:
            self.cur.execute(f"DELETE FROM main.{q(name)} WHERE {in_affected}")
        self.cur.execute(f"INSERT INTO main.{q(name)} {select}")
        self.changed[name] = affected

    def _compare(self, entry) -> None:
        name = entry.name
        per_customer = tuple(i for i in entry.inputs if i != "dataset_facts")
        changed = self._affected(f"inputs__{name}", per_customer) if entry.cut_columns else None
        if changed is not None:
            # Only the cut columns are computed for every customer (the SQL's other columns are not read), and
            # whole rows for the customers that differ: 0.2 -> 0.1 CPU s at 500,000 customers.
            key = "customer_key" if name in self.keyed else "customer_id"  # the integer key: a cheaper join
            columns = ", ".join(q(c) for c in dict.fromkeys(("customer_id", key, *entry.cut_columns)))
            sql, params = self._between_bounds(entry, per_customer)
            new = self._temp(f"new__{name}", f"SELECT {columns} FROM ({sql}) AS n", params)
        else:
            new = self._temp(f"new__{name}", read_sql(f"derived/{name}"))
        if changed is None:  # every row compared, every column
            differ = self._temp(
                f"affected__{name}",
                f"SELECT customer_id FROM (SELECT * FROM {q(new)} EXCEPT SELECT * FROM main.{q(name)}) AS n "
                f"UNION SELECT customer_id FROM (SELECT * FROM main.{q(name)} EXCEPT SELECT * FROM {q(new)}) AS o",
            )
        else:
            # Only the cut columns read the dataset's facts: a customer whose own inputs did not change keeps
            # every other column, so comparing those columns (by customer) finds the rest of the rows that differ.
            cuts = ", ".join(f"n.{q(c)}" for c in entry.cut_columns)
            stored = ", ".join(f"o.{q(c)}" for c in entry.cut_columns)
            was = ", ".join(f"o.{q(c)} AS {q('old__' + c)}" for c in entry.cut_columns)
            moved = self._temp(
                f"cut_only__{name}",
                f"SELECT n.*, {was} FROM {q(new)} AS n JOIN main.{q(name)} AS o USING ({key}) "
                f"WHERE ({cuts}) IS DISTINCT FROM ({stored}) "
                f"AND n.customer_id NOT IN (SELECT customer_id FROM {q(changed)})",
            )
            self.cut_only[name] = moved
            differ = self._temp(
                f"affected__{name}",
                f"SELECT customer_id FROM {q(changed)} UNION ALL SELECT customer_id FROM {q(moved)}",
            )
            self._replace_rows(name, changed, _with_inputs(read_sql(f"derived/{name}"),
                                                           self._shadows(entry, changed)))
            # The rest (a stage moved by "as of": about 25,000 customers after a weekly file at 500,000) differ in
            # their cut columns alone: those are set in place (0.05 -> 0.015 CPU s against replacing their rows),
            # and their old values kept beside the new (_before reads them), not their whole rows.
            sets = ", ".join(f"{q(c)} = m.{q(c)}" for c in entry.cut_columns)
            self.cur.execute(f"UPDATE main.{q(name)} AS x SET {sets} FROM {q(moved)} AS m WHERE x.{key} = m.{key}")
            self.changed[name] = differ
            return
        self._replace_rows(name, differ,
                           f"SELECT * FROM {q(new)} WHERE customer_id IN (SELECT customer_id FROM {q(differ)})")

    def _between_bounds(self, entry, per_customer: tuple[str, ...]) -> tuple[str, dict]:
        """A compared entry's SQL reading, of its per-customer input, only the customers whose cut columns a move
        of the dataset's facts can change (Derived.cut_bounds: a column between a bound's old and new values), with
        its parameters; the SQL over every customer when that is not known (no bounds, no old facts kept, a bound
        without a value)."""
        whole = read_sql(f"derived/{entry.name}"), {}
        sources = [i for i in entry.inputs if i in self.cut_sources]
        if not entry.cut_bounds or len(per_customer) != 1 or len(sources) != 1 \
                or f"cuts_before__{sources[0]}" not in self.temp:
            return whole
        old, new = q(f"cuts_before__{sources[0]}"), f"main.{q(sources[0])}"
        ranges = []
        for i, (_, bound, margin) in enumerate(entry.cut_bounds):
            ranges.append(f"least(o.b{i}, n.b{i}) - {margin}, greatest(o.b{i}, n.b{i}) + {margin}")
        bounds = ", ".join(f"{bound} AS b{i}" for i, (_, bound, _) in enumerate(entry.cut_bounds))
        rows = self.cur.execute(f"SELECT {', '.join(ranges)} FROM (SELECT {bounds} FROM {old}) AS o, "
                                f"(SELECT {bounds} FROM {new}) AS n").fetchall()
        if len(rows) != 1 or any(v is None for v in rows[0]):
            return whole
        params = {f"cut_bound_{i}": v for i, v in enumerate(rows[0])}
        between = " OR ".join(f"{q(column)} BETWEEN $cut_bound_{2 * i} AND $cut_bound_{2 * i + 1}"
                              for i, (column, _, _) in enumerate(entry.cut_bounds))
        shadow = f"SELECT * FROM main.{q(per_customer[0])} WHERE {between}"
        return _with_inputs(read_sql(f"derived/{entry.name}"), {per_customer[0]: shadow}), params

    def _add_differences(self, entry, affected: str) -> None:
        name, measures = entry.name, entry.measures
        columns = [r[0] for r in self.cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
            "AND table_schema = 'main' AND table_name = $name ORDER BY ordinal_position", {"name": name}).fetchall()]
        groups = [c for c in columns if c not in measures]
        sql = read_sql(f"derived/{name}")
        after = _with_inputs(sql, self._shadows(entry, affected))
        before = _with_inputs(sql, self._shadows(entry, affected, before=True))
        g = ", ".join(q(c) for c in groups)
        sums = ", ".join(f"sum({q(m)}) AS {q(m)}" for m in measures)
        negated = ", ".join(f"-{q(m)} AS {q(m)}" for m in measures)
        delta = self._temp(
            f"delta__{name}",
            f"SELECT {g}, {sums} FROM (SELECT {g}, {', '.join(q(m) for m in measures)} FROM ({after}) AS n "
            f"UNION ALL SELECT {g}, {negated} FROM ({before}) AS o) AS d GROUP BY {g}",
        )
        same = " AND ".join(f"x.{q(c)} IS NOT DISTINCT FROM d.{q(c)}" for c in groups)
        stored = f"SELECT {', '.join('x.' + q(c) for c in columns)} FROM main.{q(name)} AS x " \
                 f"WHERE EXISTS (SELECT 1 FROM {q(delta)} AS d WHERE {same})"
        merged = self._temp(
            f"merged__{name}",
            f"SELECT {g}, {sums} FROM ({stored} UNION ALL SELECT {', '.join(q(c) for c in columns)} FROM {q(delta)}) "
            f"AS m GROUP BY {g} HAVING sum({q(measures[0])}) <> 0",
        )
        self.cur.execute(f"DELETE FROM main.{q(name)} AS x WHERE EXISTS (SELECT 1 FROM {q(delta)} AS d WHERE {same})")
        cols = ", ".join(q(c) for c in columns)
        self.cur.execute(f"INSERT INTO main.{q(name)} ({cols}) SELECT {cols} FROM {q(merged)}")
        self.changed[name] = affected


def update_derived(store: Store, cur: duckdb.DuckDBPyConnection, change: Change, entries: dict,
                   order: tuple[str, ...], tables: tuple[str, ...], build_entry: Callable) -> int | None:
    """Bring the derived tables up to date with ``change`` in ``cur``'s transaction, touching the rows of the
    changed customers only (the models fitted after commit excepted); returns how many customers the write
    touched, or None (nothing written) when the change is better rebuilt whole.

    ``entries`` (name -> ``engagement.derived.Derived``), ``order``, ``tables`` and ``build_entry`` come from
    ``engagement.derived``, which calls this module (and so cannot be imported by it)."""
    return _Update(cur, change, entries, order, tables, build_entry).run(store)
