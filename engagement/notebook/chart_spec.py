"""What a saved notebook cell keeps of its quick chart: which columns go where, and the mark.

The chart itself is drawn by ``engagement/charts/quick_chart.py`` (presentation); the notebook stores and
validates only this spec, so it needs no charting library.

>>> QuickChartSpec.from_dict({"x": "month", "y": "orders"}).as_dict()
{'x': 'month', 'y': 'orders', 'color': None, 'mark': 'bar'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MARKS = ("bar", "line", "point", "area")


@dataclass(frozen=True)
class QuickChartSpec:
    """Which columns go where; ``color`` is optional."""

    x: str
    y: str
    color: str | None = None
    mark: str = "bar"

    def __post_init__(self) -> None:
        if self.mark not in MARKS:
            raise ValueError(f"mark must be one of {', '.join(MARKS)}, not {self.mark!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "color": self.color, "mark": self.mark}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "QuickChartSpec":
        return cls(x=raw["x"], y=raw["y"], color=raw.get("color"), mark=raw.get("mark", "bar"))
