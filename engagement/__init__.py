"""Engagement Workbench: does customer-engagement work pay?

The library behind the Streamlit app and the ``python -m engagement`` CLI. Importable from a
notebook with no Streamlit running::

    from engagement.workbench import open_workbench
    from engagement.value.kpis import overview_kpis
    store = open_workbench()
    overview_kpis(store)
"""

__version__ = "0.1.0"

import warnings

# Great Expectations imports pyspark (warehouse mode) when it is installed, and pyspark warns on every import that
# it "does not yet fully support pandas >= 3.0.0". The Spark parity suite checks the paths we use under pandas 3, so
# the warning is noise on every CLI command's stderr; silence exactly that message.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
