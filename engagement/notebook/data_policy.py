"""What a SQL-notebook cell may see: the loaded and derived tables, with personal data masked. Nothing else.

The notebook is for exploring engagement. A cell gets the canonical tables the exports load into
(:data:`engagement.warehouse.schema.KINDS`) and the tables built from them after every load (derived tables and
the stored results of the models fitted at load). Everything else in the workbench database is the workbench's
own bookkeeping, listed in :data:`OPERATIONAL` with the reason it stays out; a table on neither list (a new one)
stays out too: this is an allow-list.

Personal data inside the queryable tables:

- :data:`PERSONAL_COLUMNS` (and any column of a queryable table named as in :data:`PERSONAL_COLUMN_NAMES`) is
  replaced by a keyed hash, ``masked-`` and 16 hex digits of ``sha256(key || value)``. The key is random per copy
  and never stored in it, so a known address cannot be hashed to look it up, yet equal values stay equal within a
  copy: ``count(DISTINCT email)`` and duplicate checks still work. Empty stays empty.
- :data:`FREE_TEXT_COLUMNS` (survey comments, which the comment themes need) keep their words, with e-mail
  addresses and phone numbers written inside them replaced by ``[e-mail removed]`` / ``[phone removed]``.
- ``customer_id`` stays as the store platform's identifier: every table joins on it. Except when the brand's ids
  are e-mail addresses (a Klaviyo profile export, a Shopify export of guest e-mails): when any id is one
  (:data:`EMAIL_PATTERN`), ``customer_id`` is hashed in every table with the same key, so joins and counts of
  distinct customers still work and no address is readable (:func:`column_treatment` with ``hash_ids``).

The engine enforces this, not only the parser: a cell runs against a separate database holding only these
tables, already masked (``notebook/policy_database.py``), so no spelling (``snapshot.main.audit_log``,
``information_schema``, ``duckdb_tables()``, a file reader on the database file) can reach the rest.
docs/access.md, "SQL notebook data policy", says the same for users.

Example
-------
>>> is_queryable("customer_summary"), is_queryable("audit_log"), hidden_reason("replaced_customers")[:22]
(True, False, 'rows a later load repl')
>>> column_treatment("customers", "email"), column_treatment("engagement_default_counts", "email_clicks")
('hash', 'keep')
"""

from __future__ import annotations

from engagement.derived import DERIVED_TABLES
from engagement.retention import churn, clv_default, rfm
from engagement.warehouse.schema import KINDS

# The models fitted at load keep their results in these derived tables (clv_default.py, churn.py, rfm.py).
FITTED_MODEL_TABLES = (rfm.STORED_SCORES, *clv_default.STORED_MODEL_TABLES, *churn.STORED_MODEL_TABLES)
QUERYABLE = frozenset((*KINDS, *DERIVED_TABLES, *FITTED_MODEL_TABLES))

# The workbench's own tables, and why a notebook cell does not see them.
OPERATIONAL = {
    "loads": "the load log (file names, checksums, when each file was loaded or undone)",
    "quarantine": "refused export rows, kept raw (row_json holds e-mail addresses and names)",
    "saved_notebooks": "other analysts' saved notebooks (open them with the Notebook picker)",
    "annotations": "chart notes and who wrote them (they are drawn on the time-series charts)",
    "alert_rules": "other users' alert rules and the e-mail addresses they notify",
    "alert_events": "alert history and who was e-mailed",
    "metric_targets": "leadership targets and who set them (the Summary page shows them)",
    "audit_log": "who did what in the workbench",
    "derived_build": "bookkeeping of the derived-table build",
    "model_fit_state": "bookkeeping of the model refits after a load",
    "column_mappings": "saved column mappings of the upload form",
}
# Undo copies: replaced_<kind> keeps every row a later load replaced, raw (customers' e-mail addresses included).
OPERATIONAL_PREFIXES = {"replaced_": "rows a later load replaced, kept raw so that the load can be undone"}

# (table, column) holding personal data, and what it is.
PERSONAL_COLUMNS = {
    ("customers", "email"): "the customer's e-mail address",
}
# Any column of a queryable table with one of these names is masked too: a new export field or derived column
# named like this is hashed before anyone decides otherwise.
PERSONAL_COLUMN_NAMES = frozenset({
    "email", "email_address", "e_mail", "phone", "phone_number", "mobile", "mobile_number",
    "first_name", "last_name", "full_name", "customer_name", "address", "street_address",
})
# Columns holding the customer's id: hashed everywhere, with one key, when the ids are e-mail addresses.
ID_COLUMN_NAMES = frozenset({"customer_id"})
FREE_TEXT_COLUMNS = {
    ("surveys", "comment"): "respondents' own words",
    ("survey_answers", "comment"): "respondents' own words (copied from surveys)",
}
# Patterns for what is scrubbed from free text (RE2, as DuckDB's regexp_replace takes them). A phone number: an
# optional country code, then groups of 2-5, 3-4 and 3-5 digits (at least 8), as in +44 20 7946 0958,
# (555) 123-4567 or 0612345678; a date (2025-01-02) or a time is left alone.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE_PATTERN = r"(\+[0-9]{1,3}[ .-]?)?\(?[0-9]{2,5}\)?[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,5}"


def is_queryable(table: str) -> bool:
    """Whether a notebook cell may read ``table`` (a name in the workbench database's main schema)."""
    return table.lower() in QUERYABLE


def hidden_reason(table: str) -> str | None:
    """Why ``table`` is hidden from the notebook, or None when it is queryable or unknown to the workbench."""
    name = table.lower()
    if name in QUERYABLE:
        return None
    if name in OPERATIONAL:
        return OPERATIONAL[name]
    for prefix, why in OPERATIONAL_PREFIXES.items():
        if name.startswith(prefix) and name.removeprefix(prefix) in KINDS:
            return why
    return None


def column_treatment(table: str, column: str, hash_ids: bool = False) -> str:
    """``'hash'``, ``'scrub'`` (free text) or ``'keep'`` for a column of a queryable table; ``hash_ids``: the
    customer ids are e-mail addresses (``policy_database.ids_are_personal``), so the id columns are hashed too."""
    key = (table.lower(), column.lower())
    if key in PERSONAL_COLUMNS or column.lower() in PERSONAL_COLUMN_NAMES:
        return "hash"
    if hash_ids and column.lower() in ID_COLUMN_NAMES:
        return "hash"
    if key in FREE_TEXT_COLUMNS:
        return "scrub"
    return "keep"


def masked_select(table: str, columns: list[str], source: str, hash_ids: bool = False) -> str:
    """``SELECT`` of ``table``'s queryable form from ``source`` (a quoted, qualified table name); ``$salt`` is
    the copy's hash key, bound by the caller. Identifiers come from the catalog and are quoted here."""
    replaced = []
    for column in columns:
        treatment = column_treatment(table, column, hash_ids)
        quoted = '"' + column.replace('"', '""') + '"'
        if treatment == "hash":
            # CAST: a personal column typed otherwise (a phone number as BIGINT) is hashed as text.
            replaced.append(f"'masked-' || left(sha256($salt || CAST({quoted} AS VARCHAR)), 16) AS {quoted}")
        elif treatment == "scrub":
            replaced.append(
                f"regexp_replace(regexp_replace({quoted}, '{EMAIL_PATTERN}', '[e-mail removed]', 'g'), "
                f"'{PHONE_PATTERN}', '[phone removed]', 'g') AS {quoted}")
    return f"SELECT * REPLACE ({', '.join(replaced)}) FROM {source}" if replaced else f"SELECT * FROM {source}"
