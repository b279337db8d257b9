"""Engagement Workbench: does customer-engagement work pay?

The library behind the Streamlit app and the ``python -m engagement`` CLI. Importable from a
notebook with no Streamlit running::

    from engagement.workbench import open_workbench
    from engagement.value.kpis import overview_kpis
    store = open_workbench()
    overview_kpis(store)
"""

__version__ = "0.1.0"
