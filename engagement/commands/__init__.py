"""The command line's commands, one module per area; ``engagement/cli.py`` assembles the parser and dispatches.

``common.py`` holds what every command shares (the error type, output as JSON or CSV, opening the database,
the --db, --format and filter options); ``intake.py`` (demo, validate, ingest, undo), ``reports.py`` (KPIs,
cohorts, lifecycle, CLV), ``surveys.py`` (NPS and CSAT), ``engagement_roi.py`` (engagement and ROI),
``experiments.py`` (report experiment, abtest) and ``sql.py`` (sql) each hold their commands and their options.
"""
