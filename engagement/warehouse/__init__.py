"""The DuckDB store: it knows SQL, not the domain.

``store`` (connections, one transaction per write, loads, undo, query access), ``schema`` (the canonical tables),
``query_records`` (what "Show SQL" shows). The derived tables are built by a function the store is handed
(``engagement.derived``), never imported here.
"""
