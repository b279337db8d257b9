"""How an experiment is analysed (:class:`AnalysisOptions`) and the error for input it cannot use.

Shared by the analysis (``analysis.py``) and the verdicts (``verdicts.py``), which both read the options, so that
neither imports the other's module for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from engagement.stats import abstats


class ExperimentInputError(ValueError):
    """Input the analysis cannot use, explained in plain words."""


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse: which arm is control, which corrections and views, the planned size."""

    control: str | None = None  # None: "control" when present, else the first variant
    correction: str = "holm"
    alpha: float = 0.05
    power: float = 0.8
    use_cuped: bool = True
    sequential: bool = False
    planned_n_per_arm: int | None = None
    intended_split: tuple[tuple[str, float], ...] = ()  # empty: equal split

    def __post_init__(self) -> None:
        if self.correction not in abstats.CORRECTIONS:
            raise ExperimentInputError(f"Correction must be one of {', '.join(abstats.CORRECTIONS)}.")
        if not 0 < self.alpha < 0.5:
            raise ExperimentInputError("The significance level must be between 0 and 0.5 (usually 0.05).")
