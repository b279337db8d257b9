"""DuckDB SQL to Spark SQL: sqlglot's transpiler plus the rules it lacks, all in this module.

The SQL files are written for DuckDB and stay the single definition of every metric. ``sqlglot.transpile``
alone gets the syntax across but leaves constructs Spark lacks and, worse, some that run and give other
numbers. Each rule below names the DuckDB behaviour it keeps (``tests/test_spark_sql.py`` holds one test per
rule; the parity suite runs every report on both engines):

- ``len(list)`` -> ``size``: Spark's ``length`` is for strings only.
- ``* EXCLUDE (...)`` / ``* REPLACE (...)``: expanded into the column list, asking the engine for the columns of
  the relation the star reads (``columns_of``); Spark's ``* EXCEPT`` is Databricks-only.
- ``epoch(a - b)``: seconds as a double, from microseconds (Spark's ``unix_timestamp`` truncates to seconds).
- ``quantile_cont`` / ``median`` -> ``percentile``: exact, with DuckDB's linear interpolation (sqlglot writes
  ``percentile_cont``, whose Spark form takes the fraction first).
- ``quantile_disc`` -> the element at ``ceil(n * p)`` of the sorted values: exact, as DuckDB (SQL's discrete
  percentile); for a list of fractions, one element per fraction. Never ``percentile_approx``.
- ``'infinity'`` / ``'-infinity'`` timestamps -> Spark's largest and smallest timestamps (Spark has no infinite
  timestamps); comparisons give the same answers for any real date.
- ``list(x ORDER BY ...)`` keeps its order (sqlglot drops it): the values are collected with their sort keys and
  sorted. ``list(DISTINCT x ORDER BY x)`` is ``sort_array(collect_set(x))``.
- ``list(x)`` keeps NULLs (Spark's ``collect_list`` drops them); ``list_extract`` -> ``element_at``;
  ``list_position`` -> ``array_position`` with 0 (not found) as NULL; ``list_sum`` -> ``aggregate`` (DOUBLE).
- ``list[i]``: DuckDB indexes from 1 and returns NULL out of range -> ``element_at(list, i)`` (1-based; NULL out of
  range with ANSI mode off, which the Spark session sets).
- ``/``: DuckDB's division returns DOUBLE (DECIMAL / DECIMAL too, where Spark keeps 6 decimals) and divides by
  zero as IEEE floats do (``inf``, ``-inf``, ``NaN``), where Spark returns NULL. Both kept.
- ``avg(decimal)``: DOUBLE, as DuckDB (Spark returns a DECIMAL rounded to 6 places).
- ``date_diff(part, a, b)``: DuckDB counts boundaries crossed for day, month, quarter and year, and whole weeks for
  week; sqlglot writes Spark's ``datediff(unit, ...)``, which counts whole units. A part given as a value (a
  column or parameter) becomes a CASE over the parts.
- ``to_days(n)`` -> ``make_dt_interval(n)``; ``HUGEINT`` -> ``DECIMAL(38, 0)``; a BIGINT ``LIMIT`` -> INT.

What has no safe rewrite is kept out of the SQL files instead (ASOF joins, ``UNION BY NAME``, simplified
``UNPIVOT``, ``hash()``): :func:`unsupported` names anything left outside :data:`ALLOWED`, and the default CI
test transpiles every SQL file and fails on it.
"""

from __future__ import annotations

import threading
from typing import Callable

import sqlglot
from sqlglot import exp

# Called with a DuckDB query (a probe: ``SELECT <star> FROM ... LIMIT 0``) and returning its column names.
ColumnsOf = Callable[[str], list[str]]

SPARK_MAX_TIMESTAMP = "9999-12-31 23:59:59.999999"
SPARK_MIN_TIMESTAMP = "0001-01-01 00:00:00"
DATE_PARTS = ("day", "week", "month", "quarter", "year")


class UntranslatableSql(ValueError):
    """A DuckDB construct this module cannot carry to Spark with the same result."""


def to_spark(sql: str, columns_of: ColumnsOf | None = None) -> str:
    """The Spark SQL of DuckDB ``sql``; ``$name`` parameters become ``:name`` (bound by ``spark.sql(args=...)``).

    >>> to_spark("select quantile_cont(x, 0.5) as m, len($c::varchar[]) as n from t")
    'SELECT PERCENTILE(x, 0.5) AS m, SIZE(CAST(:c AS ARRAY<STRING>)) AS n FROM t'
    """
    return rewrite(sqlglot.parse_one(sql, read="duckdb"), columns_of).sql(dialect="spark")


def rewrite(tree: exp.Expression, columns_of: ColumnsOf | None = None) -> exp.Expression:
    """The DuckDB syntax tree ``tree`` with every rule of this module applied (a new tree)."""
    tree = tree.copy()
    tree = _expand_stars(tree, columns_of)
    return _bottom_up(tree)


def _bottom_up(node: exp.Expression) -> exp.Expression:
    """Apply the rules children first: a rule that writes its arguments as Spark SQL gets them rewritten."""
    for child in list(node.iter_expressions()):
        new = _bottom_up(child)
        if new is not child:
            child.replace(new)
    return _rule(node)


def _rule(node: exp.Expression) -> exp.Expression:
    for rule in _RULES:
        replaced = rule(node)
        if replaced is not None:
            return replaced
    return node


# ------------------------------------------------------------------ the rules, one function each
def _size_of_list(node):
    if isinstance(node, exp.Length) and _is_list(node.this):
        return exp.Anonymous(this="size", expressions=[node.this])
    return None


def _is_list(node: exp.Expression) -> bool:
    if isinstance(node, exp.Cast):
        return node.to.is_type(exp.DataType.Type.ARRAY)
    if isinstance(node, (exp.Array, exp.ArrayAgg, exp.ArrayFilter, exp.Transform)):
        return True
    # DuckDB's len() on a string is length(); the SQL files use it on lists only, except for named list columns.
    return isinstance(node, exp.Column) and node.name.endswith(("purchases", "_list", "variants"))


def _epoch(node):
    if not isinstance(node, exp.TimeToUnix):
        return None
    if isinstance(node.this, exp.Sub):
        micros = exp.Sub(this=_unix_micros(node.this.this), expression=_unix_micros(node.this.expression))
    else:
        micros = _unix_micros(node.this)
    return _done(exp.Div(this=exp.Paren(this=micros), expression=exp.Literal.number("1000000.0")))


def _unix_micros(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="unix_micros", expressions=[exp.cast(value.copy(), "TIMESTAMP")])


def _percentile_cont(node):
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    if isinstance(node, exp.Median):
        return exp.Anonymous(this="percentile", expressions=[node.this, exp.Literal.number("0.5")])
    return None


def _percentile_disc(node):
    if not (isinstance(node, exp.PercentileDisc) and node.expression is not None):
        return None
    values, fraction = node.this, node.expression
    sorted_values = f"sort_array(collect_list({_slot(values)}))"
    count = f"count({_slot(values)})"
    # The element at ceil(n * p) (1-based, at least the first): SQL's discrete percentile, which DuckDB returns.
    pick = "element_at({s}, cast(greatest(ceil({n} * {p}), 1) as int))"
    if _is_list(fraction):
        text = f"transform({_slot(fraction)}, p -> {pick.format(s=sorted_values, n=count, p='p')})"
    else:
        text = pick.format(s=sorted_values, n=count, p=_slot(fraction))
    return _spark_expression(text)


def _infinite_timestamp(node):
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEMPORAL_TYPES) \
            and isinstance(node.this, exp.Literal) and node.this.is_string:
        text = node.this.this.strip().lower()
        if text in ("infinity", "+infinity", "-infinity"):
            moment = SPARK_MIN_TIMESTAMP if text.startswith("-") else SPARK_MAX_TIMESTAMP
            return exp.cast(exp.Literal.string(moment), node.to.copy())
    return None


def _ordered_list(node):
    if not isinstance(node, exp.ArrayAgg):
        return None
    if not isinstance(node.this, exp.Order):
        if isinstance(node.this, exp.Distinct):
            raise UntranslatableSql("list(DISTINCT x) without ORDER BY is not translated")
        # DuckDB's list() keeps NULLs, Spark's collect_list drops them: collect them inside a struct.
        return _spark_expression(f"transform(collect_list(struct({_slot(node.this)} as v)), s -> s.v)")
    order = node.this
    value = order.this
    keys = order.expressions
    if isinstance(value, exp.Distinct):
        inner = value.expressions[0]
        if len(keys) == 1 and keys[0].this == inner:
            # collect_set drops NULL; DuckDB keeps one, last unless NULLS FIRST.
            x = _slot(inner)
            values = f"sort_array(collect_set({x}), {'false' if keys[0].args.get('desc') else 'true'})"
            null = f"if(max(case when {x} is null then 1 else 0 end) = 1, array(null), array())"
            first, second = (null, values) if keys[0].args.get("nulls_first") else (values, null)
            return _spark_expression(f"concat({first}, {second})")
        raise UntranslatableSql("list(DISTINCT x ORDER BY y) with y other than x has no Spark equivalent")
    # Sort (key_1, ..., key_n, value) structs with a comparator that keeps each key's direction and DuckDB's
    # default NULLS LAST, then keep the value.
    fields = [f"{_slot(k.this)} as k{i}" for i, k in enumerate(keys)] + [f"{_slot(value)} as v"]
    comparisons = []
    for i, key in enumerate(keys):
        desc = bool(key.args.get("desc"))
        nulls_first = bool(key.args.get("nulls_first"))
        first, second = ("r", "l") if desc else ("l", "r")
        comparisons.append(
            f"case when l.k{i} is null and r.k{i} is null then 0 "
            f"when l.k{i} is null then {-1 if nulls_first else 1} when r.k{i} is null then {1 if nulls_first else -1} "
            f"when {first}.k{i} < {second}.k{i} then -1 when {first}.k{i} > {second}.k{i} then 1 else 0 end")
    comparator = comparisons[-1]
    for comparison in reversed(comparisons[:-1]):
        comparator = f"case when ({comparison}) <> 0 then ({comparison}) else ({comparator}) end"
    return _spark_expression(
        f"transform(array_sort(collect_list(struct({', '.join(fields)})), (l, r) -> {comparator}), s -> s.v)")


def _one_based_index(node):
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return None
    index = node.expressions[0]
    if isinstance(index, exp.Literal) and index.is_string:
        return None  # a struct field or a map key
    if isinstance(index, exp.Slice):
        raise UntranslatableSql("list slices are not translated")
    # sqlglot's DuckDB reader shifts a literal index to 0-based (and leaves any other index 1-based: the
    # silent error); element_at is 1-based, so the literal is shifted back.
    if isinstance(index, exp.Literal):
        index = exp.Literal.number(int(index.this) + 1)
    return exp.Anonymous(this="element_at", expressions=[node.this, index])


def _division(node):
    if not isinstance(node, exp.Div) or node.meta.get("spark"):
        return None
    numerator = exp.cast(exp.Paren(this=node.this), "DOUBLE")
    denominator = exp.cast(exp.Paren(this=node.expression), "DOUBLE")
    if isinstance(node.expression, exp.Literal) and float(node.expression.this or 0) != 0:
        return _done(exp.Div(this=numerator, expression=denominator))
    # x / 0 is inf, -inf or NaN in DuckDB (IEEE); Spark returns NULL. x * inf gives the same three (and NULL).
    infinity = exp.cast(exp.Literal.string("Infinity"), "DOUBLE")
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=denominator.copy(), expression=exp.Literal.number(0)),
                                true=exp.Mul(this=numerator.copy(), expression=infinity))],
                    default=_done(exp.Div(this=numerator, expression=denominator)))


def _average(node):
    if isinstance(node, exp.Avg) and not node.meta.get("spark"):
        return _done(exp.Avg(this=exp.cast(node.this, "DOUBLE")))
    return None


def _date_diff(node):
    if not isinstance(node, exp.DateDiff):
        return None
    later, earlier = node.this, node.expression
    unit = node.args.get("unit")
    if isinstance(unit, exp.Var) or (isinstance(unit, exp.Literal) and unit.is_string):
        return _spark_expression(_date_diff_sql(unit.name.lower(), _slot(earlier), _slot(later)))
    if unit is None:
        return _spark_expression(_date_diff_sql("day", _slot(earlier), _slot(later)))
    part = _slot(unit)
    branches = " ".join(
        f"when lower({part}) = '{p}' then {_date_diff_sql(p, _slot(earlier), _slot(later))}"
        for p in DATE_PARTS)
    return _spark_expression(f"case {branches} end")


def _date_diff_sql(part: str, a: str, b: str) -> str:
    """DuckDB's date_diff(part, a, b) in Spark SQL: boundaries crossed, whole weeks for week."""
    days = f"datediff(cast({b} as date), cast({a} as date))"
    if part == "day":
        return days
    if part == "week":
        return f"({days} div 7)"
    months = f"((year({b}) * 12 + month({b})) - (year({a}) * 12 + month({a})))"
    if part == "month":
        return months
    if part == "quarter":
        return f"((year({b}) * 4 + quarter({b})) - (year({a}) * 4 + quarter({a})))"
    if part == "year":
        return f"(year({b}) - year({a}))"
    raise UntranslatableSql(f"date_diff('{part}', ...) is not translated")


def _list_functions(node):
    if not isinstance(node, exp.Anonymous):
        return None
    name, args = node.name.lower(), node.expressions
    if name == "list_extract" and len(args) == 2:  # 1-based on both, NULL out of range with ANSI off
        return exp.Anonymous(this="element_at", expressions=args)
    if name == "list_position" and len(args) == 2:  # Spark's array_position says 0 where DuckDB says NULL
        return _spark_expression(f"nullif(array_position({_slot(args[0])}, {_slot(args[1])}), 0)")
    if name == "list_sum" and len(args) == 1:
        # NULL for an empty (or all-NULL) list, as DuckDB; summed as DOUBLE (DuckDB sums DECIMALs exactly:
        # equal to 1e-15 relative, and the one use casts the sum to DOUBLE).
        present = f"filter({_slot(args[0])}, v -> v is not null)"
        return _spark_expression(f"case when size({present}) = 0 then null else "
                                 f"aggregate({present}, cast(0 as double), (a, v) -> a + cast(v as double)) end")
    return None


def _to_days(node):
    if isinstance(node, exp.ToDays):
        return exp.Anonymous(this="make_dt_interval", expressions=[node.this])
    return None


def _hugeint(node):
    if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.INT128, exp.DataType.Type.UINT128):
        return exp.DataType.build("DECIMAL(38, 0)")
    return None


def _limit_as_int(node):
    # DuckDB takes a BIGINT limit ($n::bigint); Spark's LIMIT and OFFSET must be INT.
    if not isinstance(node, (exp.Limit, exp.Offset)) or isinstance(node.expression, exp.Literal):
        return None
    value = node.expression
    if isinstance(value, exp.Cast) and value.to.is_type(exp.DataType.Type.INT):
        return None
    node.set("expression", exp.cast(value.this if isinstance(value, exp.Cast) else value, "INT"))
    return node


_slots = threading.local()


def _slot(node: exp.Expression) -> str:
    """A stand-in name for ``node`` in the text of a rule's Spark expression; :func:`_spark_expression` puts
    the node itself back (re-parsing its Spark text could read it otherwise: ``date_trunc(p.grain, x)``'s
    column becomes the unit 'GRAIN')."""
    slots = _slots.__dict__.setdefault("nodes", {})
    name = f"__slot_{len(slots)}__"
    slots[name] = node
    return name


def _spark_expression(text: str) -> exp.Expression:
    """A Spark SQL expression (with :func:`_slot` stand-ins) as a node that the rules do not rewrite again."""
    slots = _slots.__dict__.setdefault("nodes", {})
    parsed = sqlglot.parse_one(text, read="spark")
    for column in list(parsed.find_all(exp.Column)):
        if column.name in slots and not column.table:
            column.replace(slots[column.name].copy())
    slots.clear()
    for node in parsed.walk():
        if isinstance(node, (exp.Div, exp.Avg)):
            _done(node)
    return parsed


def _done(node: exp.Expression) -> exp.Expression:
    """Mark ``node`` as Spark already (a division or average the rules must not rewrite again)."""
    node.meta["spark"] = True
    return node


_RULES = (_size_of_list, _epoch, _percentile_cont, _percentile_disc, _infinite_timestamp, _ordered_list,
          _one_based_index, _division, _average, _date_diff, _list_functions, _to_days, _hugeint, _limit_as_int)


# ------------------------------------------------------------------ star expansion
def _expand_stars(tree: exp.Expression, columns_of: ColumnsOf | None) -> exp.Expression:
    """Replace each ``*`` with EXCLUDE or REPLACE by the column list it stands for."""
    for star in list(tree.find_all(exp.Star)):
        if not (star.args.get("except_") or star.args.get("replace")):
            continue
        if columns_of is None:
            raise UntranslatableSql("SELECT * EXCLUDE/REPLACE needs the engine to name the star's columns")
        projection = star.parent if isinstance(star.parent, exp.Column) else star
        select = projection.parent
        qualifier = projection.table if isinstance(projection, exp.Column) else ""
        columns = columns_of(_star_probe(tree, select, qualifier))
        excluded = {c.name.lower() for c in star.args.get("except_") or ()}
        replaced = {r.alias.lower(): r for r in star.args.get("replace") or ()}
        expanded: list[exp.Expression] = []
        for name in columns:
            if name.lower() in excluded:
                continue
            if name.lower() in replaced:
                expanded.append(replaced[name.lower()].copy())
            else:
                expanded.append(exp.column(name, table=qualifier or None, quoted=True))
        position = select.expressions.index(projection)
        select.set("expressions", select.expressions[:position] + expanded + select.expressions[position + 1:])
    return tree


def _star_probe(tree: exp.Expression, select: exp.Select, qualifier: str) -> str:
    """A DuckDB query returning no rows and the columns of the relation ``qualifier.*`` (or ``*``) reads in
    ``select``: the CTEs defined before it, then its FROM and joins."""
    probe = exp.select(exp.column(exp.Star(), table=qualifier or None) if qualifier else exp.Star())
    probe.set("from_", select.args["from_"].copy())
    if select.args.get("joins"):
        probe.set("joins", [j.copy() for j in select.args["joins"]])
    probe = probe.limit(0)
    with_ = tree.args.get("with_")
    if with_ is not None:
        cte = select.find_ancestor(exp.CTE)
        earlier = []
        for candidate in with_.expressions:
            if candidate is cte:
                break
            earlier.append(candidate.copy())
        if earlier:
            probe.set("with_", exp.With(expressions=earlier))
    return probe.sql(dialect="duckdb")


# ------------------------------------------------------------------ what may appear in translated SQL
# Syntax-tree node types a translated statement may contain: what the rules above produce and what sqlglot
# writes for Spark with the same meaning. Anything else fails the CI test (tests/test_spark_sql.py) until a
# rule or a portable rewrite of the SQL file handles it and a test shows both engines agree.
ALLOWED = frozenset("""
Add Alias And Anonymous Array ArrayAgg ArrayContains ArrayFilter ArraySize ArraySort Avg Between Boolean Bracket Case
Cast Coalesce Column ColumnDef Count CTE CurrentDate DataType DataTypeParam Date DateTrunc Distinct Div Dot EQ Exists
Explode Extract Filter From Greatest GT GTE Group Having Identifier If In Interval Is Join Lambda Least Length
Like Limit Literal LT LTE Max Min Mod Mul Neg Not NEQ Null Or Order Ordered Paren Placeholder Pow Round RowNumber
Select Sqrt Star Struct Sub Subquery Sum Table TableAlias TimestampTrunc Transform Trim Union Var Where Window With
Lag Lead First Last FirstValue LastValue Ln Exp Abs Floor Ceil Nullif Substring Concat ConcatWs Lower Upper
StrPosition Lateral Unnest Values Tuple Sign Least ArgMax ArgMin StddevSamp VarianceSamp Variance Stddev StddevPop
Rand CountIf LogicalOr LogicalAnd Max Min Sum Except Intersect Not PropertyEQ Sort Md5 Quarter Month Year Day
DayOfWeek DayOfMonth DayOfYear WeekOfYear GenerateSeries TimeToStr TsOrDsToDate TimeStrToTime Semicolon Whens Qualify
ToChar Initcap Length Levenshtein RegexpLike RegexpExtract RegexpReplace Split Replace Left Right Pad Repeat
MD5 AnyValue IgnoreNulls TryCast IntDiv WindowSpec ArrayUniqueAgg PercentRank DateDiff SortArray ArrayConcat Reduce
ArrayPosition
""".split())
# Functions written by name (sqlglot's Anonymous): the Spark functions the rules emit, and those sqlglot
# leaves by name with the same meaning on both engines.
ALLOWED_FUNCTIONS = frozenset("""
size unix_micros percentile element_at make_dt_interval sort_array collect_set collect_list transform array_sort
struct datediff year month quarter date_trunc struct_extract list_contains array_position aggregate
""".split())
# SQL files that only ever run on the DuckDB store: the workbench's own tables (load history, audit trail,
# quarantine, saved notebooks, annotations, alerts, targets), which warehouse mode does not have. Reason beside each.
DUCKDB_ONLY = {
    "intake/audit_trail": "the store's audit trail", "intake/load_history": "the store's load log",
    "intake/quarantined_rows": "the store's quarantine", "notebook/create_saved_notebooks": "saved notebooks",
    "notebook/insert_version": "saved notebooks", "notebook/list_notebooks": "saved notebooks",
    "notebook/list_versions": "saved notebooks", "notebook/load_version": "saved notebooks",
    "notebook/next_version": "saved notebooks",
    "annotations/create_annotations": "chart annotations", "annotations/delete_annotation": "chart annotations",
    "annotations/insert_annotation": "chart annotations", "leadership/create_alert_events": "alerts",
    "leadership/create_alert_rules": "alerts", "leadership/create_metric_targets": "metric targets",
}


def unsupported(tree: exp.Expression) -> list[str]:
    """Node types and function names in the translated ``tree`` outside :data:`ALLOWED`, sorted (empty: fine)."""
    found = set()
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in ALLOWED_FUNCTIONS:
                found.add(f"function {node.name.lower()}()")
        elif type(node).__name__ not in ALLOWED:
            found.add(type(node).__name__)
        if isinstance(node, exp.Join) and "ASOF" in " ".join(
                str(node.args.get(part) or "") for part in ("method", "kind", "side")).upper():
            found.add("ASOF join")
        if isinstance(node, exp.Union) and node.args.get("by_name"):
            found.add("UNION BY NAME")
    return sorted(found)
