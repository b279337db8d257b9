"""Streamlit glue: the only package of the library that imports streamlit.

Pages use it as ``from engagement import ui`` and ``ui.table(...)``; the names below come from its modules:

- ``text``: ``plain`` (text from data shown literally) and ``format_value``; no Streamlit.
- ``links``: widgets whose values live in the URL (``synced_choice``...), so a copied link reopens the view.
- ``auth``: sign-in and roles (``current_actor``, ``can_write``).
- ``session``: the databases a session shows (``get_store``) and view data cached per data version.
- ``sidebar``: the shared filters and the annotations.
- ``layout``: the phone layout.
- ``output``: tables, charts, CSV downloads, "Show SQL" and notebooks.
- ``experiment_forms``, ``uploads``, ``leadership``: the forms and results of the Experiments, Data and Summary
  pages.
"""

from engagement.ui.auth import (NEXT_LINK_KEY, auth_configured, can_write, current_actor, has_access,
                                require_access, sidebar_identity)
from engagement.ui.experiment_forms import (experiment_list_and_metadata, experiment_metadata_form,
                                            revenue_relation_caption, VERDICT_BADGES)
from engagement.ui.layout import phone_first, phone_layout, phone_only, wide_only
from engagement.ui.leadership import headline, how_computed, leadership_settings, summary_cards, triggered_alerts
from engagement.ui.links import (LINK_NOTICE, from_query, link_notice, page_alias, synced_choice, synced_multichoice,
                                 synced_number, synced_text)
from engagement.ui.output import (chart, download_csv, download_csv_on_click, notebook_download, show_sql, table,
                                  table_config, title_with_fit_status, view_exports, view_recipe)
from engagement.ui.session import (BRAND, DATABASE_LABELS, DEMO, DEMO_ACTOR, DEMO_NOTICE, after_load, app_run,
                                   data_version, demo_banner, get_store, money_in_orders_currency, require_app_shell,
                                   shown_database, sidebar_database, upload_store, view_data, view_queries)
from engagement.ui.sidebar import annotations, current_filters, sidebar_annotations, sidebar_filters, \
    start_range_button, write_filters_to_url
from engagement.ui.text import WORD_JOINER, format_value, money_format, plain, rounds_to_zero
from engagement.ui.uploads import activity_caption, batch_upload, confirm_undo, show_ingest_result
from engagement.ui.warehouse import run_page

__all__ = [
    "BRAND", "DATABASE_LABELS", "DEMO", "DEMO_ACTOR", "DEMO_NOTICE", "LINK_NOTICE", "NEXT_LINK_KEY", "VERDICT_BADGES",
    "WORD_JOINER",
    "activity_caption", "after_load", "annotations", "app_run", "auth_configured", "batch_upload", "can_write", "chart",
    "confirm_undo", "current_actor",
    "current_filters", "data_version", "demo_banner", "download_csv", "download_csv_on_click",
    "experiment_list_and_metadata", "experiment_metadata_form", "format_value", "from_query", "get_store",
    "has_access", "headline", "how_computed", "leadership_settings", "link_notice", "money_format",
    "money_in_orders_currency", "notebook_download", "page_alias", "phone_first", "phone_layout", "phone_only",
    "plain", "require_access", "require_app_shell", "revenue_relation_caption", "rounds_to_zero", "run_page",
    "show_ingest_result", "show_sql", "shown_database", "sidebar_annotations", "sidebar_database",
    "sidebar_filters", "sidebar_identity", "start_range_button", "summary_cards", "synced_choice",
    "synced_multichoice", "synced_number", "synced_text", "table", "table_config", "title_with_fit_status",
    "triggered_alerts", "upload_store",
    "view_data", "view_exports", "view_queries", "view_recipe", "wide_only", "write_filters_to_url",
]
