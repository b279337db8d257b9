"""Getting exports in: reading files, source formats, staging, validation, loading, the demo data."""
