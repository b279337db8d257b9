"""Targets analysts set per registered metric (``metric_targets``), written through the store as the acting user.

A target is in the metric's own unit (a share as a fraction: 0.30 for 30 %), with a direction: ``at_least``
when higher is better (repeat rate, NPS), ``at_most`` when lower is (days between orders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from engagement import metrics
from engagement.warehouse import audit
from engagement.warehouse.access import Actor
from engagement.warehouse.store import Store

DIRECTIONS = ("at_least", "at_most")


@dataclass(frozen=True)
class Target:
    metric: str
    target: float
    direction: str
    set_by: str
    set_at: datetime

    def is_met(self, value: float) -> bool | None:
        """Whether ``value`` meets the target (None when the value is missing)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value >= self.target if self.direction == "at_least" else value <= self.target

    def describe(self) -> str:
        word = "at least" if self.direction == "at_least" else "at most"
        return f"target: {word} {metrics.format_value(self.metric, self.target)}"


def parse_target_value(metric_key: str, text: str) -> float:
    """A target typed by a person: ``30%`` or ``0.30`` for a share, ``45`` for NPS, ``120`` for money.

    >>> parse_target_value("repeat_purchase_rate", "30%")
    0.3
    """
    m = metrics.metric(metric_key)
    raw = str(text).strip().replace(",", "").replace("$", "")
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%").strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a number; for {m.label} type e.g. "
                         f"{'30% or 0.30' if m.unit == 'share' else '30'}.") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number.")
    if m.unit == "share":
        value = value / 100 if percent or value > 1 else value
        if not 0 <= value <= 1:
            raise ValueError(f"A share is between 0 % and 100 %; got {text!r}.")
    elif percent:
        raise ValueError(f"{m.label} is not a percentage; type a plain number.")
    if m.unit == "score" and not -100 <= value <= 100:
        raise ValueError(f"{m.label} runs from -100 to +100; got {text!r}.")
    return value


def set_target(store: Store, metric_key: str, target: float, direction: str = "at_least",
               actor: Actor | None = None) -> Target:
    """Set (or replace) the target of ``metric_key``; ``actor`` is the signed-in user (a viewer is refused)."""
    metrics.metric(metric_key)  # KeyError naming the known metrics
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}.")
    if not math.isfinite(float(target)):
        raise ValueError("A target must be a finite number.")
    acting = store.authorize(actor, f"setting the target of {metric_key}")
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    with store.write() as cur:
        cur.execute("INSERT OR REPLACE INTO metric_targets VALUES ($metric, $target, $direction, $by, $at)",
                    {"metric": metric_key, "target": float(target), "direction": direction, "by": acting.name,
                     "at": at}).fetchall()
        audit.record(cur, acting, "set target", target=metric_key,
                     detail=f"{direction} {metrics.format_value(metric_key, float(target))}")
    store.committed()
    return Target(metric_key, float(target), direction, acting.name, at)


def remove_target(store: Store, metric_key: str, actor: Actor | None = None) -> bool:
    """Remove the target of ``metric_key``; False when it had none."""
    acting = store.authorize(actor, f"removing the target of {metric_key}")
    with store.write() as cur:
        removed = cur.execute("DELETE FROM metric_targets WHERE metric = $metric",
                              {"metric": metric_key}).fetchall()[0][0]
        if removed:
            audit.record(cur, acting, "remove target", target=metric_key)
    if removed:
        store.committed()
    return bool(removed)


def targets(store: Store, cursor=None) -> dict[str, Target]:
    """Every target, by metric (empty for a database made before targets, e.g. an old read-only snapshot)."""
    cur = cursor or store.cursor()
    if not store.has_table("metric_targets", cur):
        return {}
    rows = cur.execute("SELECT metric, target, direction, set_by, set_at FROM metric_targets ORDER BY metric").fetchall()
    return {r[0]: Target(r[0], float(r[1]), r[2], r[3], r[4]) for r in rows}
