"""Every view's "Open as notebook" recipe executes: its generated cells run against the demo database.

The Overview's notebook is executed end to end with nbclient in tests/test_notebook_export.py; here the
code cells of the other views' notebooks are run in-process (faster), which proves their arguments turn back
into valid Python and their library calls work.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from engagement.cohorts import retention_matrix
from engagement.experiments import ExperimentQuery, experiment_analysis
from engagement.roi import roi_report
from engagement.csat import CSAT_SCALE
from engagement.engagement_score import DEFAULT_THRESHOLD, EngagementWeights, engagement_view
from engagement.filters import Filters
from engagement.lifecycle import current_stages, default_thresholds, month_end_moments, stage_sizes
from engagement.nps import NPS_SCALE, survey_breakdown
from engagement.notebook_export import LibraryCall, ViewRecipe, notebook_text

FILTERS = Filters(start=date(2025, 11, 1), end=date(2026, 10, 31), channels=("referral",))


def _recipes(store):
    defaults = default_thresholds(store)
    moments = month_end_moments(FILTERS, defaults.as_of)
    return {
        "cohorts": [LibraryCall.of(retention_matrix, FILTERS, "month", "none", result_name="matrix")],
        "lifecycle": [LibraryCall.of(current_stages, FILTERS, defaults.thresholds, result_name="stages"),
                      LibraryCall.of(stage_sizes, FILTERS, defaults.thresholds, moments, result_name="sizes")],
        "engagement": [LibraryCall.of(engagement_view, FILTERS, EngagementWeights(), DEFAULT_THRESHOLD,
                                      result_name="view")],
        "nps": [LibraryCall.of(survey_breakdown, FILTERS, NPS_SCALE, result_name="overall")],
        "csat": [LibraryCall.of(survey_breakdown, FILTERS, CSAT_SCALE, result_name="overall")],
        "roi": [LibraryCall.of(roi_report, FILTERS, 0.4, "observational", None, 30, 90, None, 1000.0,
                               EngagementWeights(), DEFAULT_THRESHOLD, result_name="report")],
        "experiments": [LibraryCall.of(experiment_analysis, ExperimentQuery("EXP-recs-email"), result_name="analysis")],
    }


@pytest.mark.parametrize("view", ["cohorts", "lifecycle", "engagement", "nps", "csat", "roi", "experiments"])
def test_view_notebook_cells_run(view, demo_store, demo_db_path):
    calls = _recipes(demo_store)[view]
    recipe = ViewRecipe(title=view, calls=tuple(calls), filters=FILTERS)
    notebook = json.loads(notebook_text(recipe, demo_db_path))
    namespace: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
            exec(compile("\n".join(lines), f"<{view} notebook>", "exec"), namespace)  # noqa: S102
    for call in calls:
        assert call.result_name in namespace, f"{view}: {call.result_name} was not computed"
