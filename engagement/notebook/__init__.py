"""The SQL notebook: the sandbox (``sql_safety``), saved notebooks, exports to Jupyter, the schema browser."""
