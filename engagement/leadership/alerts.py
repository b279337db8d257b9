"""Alert rules on registered metrics, kept in the database and evaluated after every load and by `alerts check`.

A rule reads the leadership summary of the last ``period_days`` days of data (``summary.leadership_summary``):

- ``below`` / ``above``: the value crosses a threshold ("NPS below 30");
- ``down_by`` / ``up_by``: the change against the comparison window is at least the threshold in that direction
  **and** more than chance explains (its 95 % interval excludes zero); the comparison is the same period last
  year by default, because seasonality makes "this month against last month" meaningless for most brands;
- ``below_target``: the value misses the target an analyst set (``targets``).

Thresholds are in the metric's unit (a share as a fraction: 0.03 is 3 points). Every evaluation is logged in
``alert_events``; after a load, a rule that has just started triggering (it did not at its previous
evaluation) is e-mailed to its address when SMTP is configured (``mail``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

from engagement import metrics
from engagement.leadership.summary import (
    COMPARISONS, COMPUTED_METRICS, LeadershipSummary, leadership_summary, period_filters,
)
from engagement.value.currency import order_currencies
from engagement.warehouse import audit
from engagement.warehouse.access import Actor
from engagement.warehouse.background import existing_worker, worker_for
from engagement.warehouse.store import Store

KINDS = ("below", "above", "down_by", "up_by", "below_target")
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertRule:
    rule_id: int
    metric: str
    kind: str
    threshold: float | None
    comparison: str = "year"
    period_days: int = 30
    email: str | None = None
    created_by: str = ""
    created_at: datetime | None = None

    def describe(self) -> str:
        label = metrics.metric(self.metric).label
        window = f"last {self.period_days} days"
        if self.kind == "below_target":
            return f"{label} misses its target ({window})"
        if self.kind in ("below", "above"):
            return f"{label} {self.kind} {metrics.format_value(self.metric, self.threshold)} ({window})"
        word = "down" if self.kind == "down_by" else "up"
        amount = metrics.format_change(self.metric, abs(self.threshold)).lstrip("+")
        return (f"{label} {word} by {amount} or more against {COMPARISONS[self.comparison]}, beyond chance "
                f"({window})")

    def as_record(self) -> dict:
        return {"rule_id": self.rule_id, "metric": self.metric, "kind": self.kind, "threshold": self.threshold,
                "comparison": self.comparison, "period_days": self.period_days, "email": self.email,
                "created_by": self.created_by, "description": self.describe()}


@dataclass(frozen=True)
class AlertResult:
    rule: AlertRule
    triggered: bool
    message: str
    value: float

    def as_record(self) -> dict:
        return {**self.rule.as_record(), "triggered": self.triggered, "message": self.message, "value": self.value}


def check_rule(metric: str, kind: str, threshold: float | None, comparison: str, period_days: int) -> None:
    """Refuse a rule that cannot be evaluated, saying why (ValueError)."""
    metrics.metric(metric)  # KeyError naming the registry's metrics
    if metric not in COMPUTED_METRICS:
        raise ValueError(f"Alerts read the Summary's numbers; {metric} is not one of them "
                         f"({', '.join(COMPUTED_METRICS)}).")
    if kind not in KINDS:
        raise ValueError(f"An alert is one of {', '.join(KINDS)}, not {kind!r}.")
    if kind != "below_target" and (threshold is None or not math.isfinite(threshold)):
        raise ValueError(f"A {kind} alert needs a threshold.")
    if kind in ("down_by", "up_by") and threshold <= 0:
        raise ValueError("The change of a down_by or up_by alert is a positive amount (e.g. 0.03 for 3 points).")
    if kind in ("down_by", "up_by") and metric == "predicted_revenue_90d":
        raise ValueError("The CLV of the base has no earlier period to compare with; use below or above.")
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison is one of {', '.join(COMPARISONS)}, not {comparison!r}.")
    if not 1 <= period_days <= 3660:
        raise ValueError("period_days is between 1 and 3660.")


def add_rule(store: Store, metric: str, kind: str, threshold: float | None = None, comparison: str = "year",
             period_days: int = 30, email: str | None = None, actor: Actor | None = None) -> AlertRule:
    """Store a new rule as ``actor`` (a viewer is refused by the store)."""
    check_rule(metric, kind, threshold, comparison, period_days)
    if email is not None and "@" not in email:
        raise ValueError(f"{email!r} is not an e-mail address.")
    acting = store.authorize(actor, "adding an alert rule")
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    with store.write() as cur:
        rule_id = cur.execute("SELECT coalesce(max(rule_id), 0) + 1 FROM alert_rules").fetchall()[0][0]
        rule = AlertRule(int(rule_id), metric, kind, None if threshold is None else float(threshold), comparison,
                         int(period_days), email, acting.name, at)
        cur.execute("INSERT INTO alert_rules VALUES ($id, $metric, $kind, $threshold, $comparison, $days, $email, "
                    "$by, $at)", {"id": rule.rule_id, "metric": metric, "kind": kind, "threshold": rule.threshold,
                                  "comparison": comparison, "days": rule.period_days, "email": email,
                                  "by": acting.name, "at": at}).fetchall()
        audit.record(cur, acting, "add alert", target=f"rule {rule.rule_id}", detail=rule.describe())
    store.committed()
    return rule


def remove_rule(store: Store, rule_id: int, actor: Actor | None = None) -> bool:
    acting = store.authorize(actor, f"removing alert rule {rule_id}")
    with store.write() as cur:
        removed = cur.execute("DELETE FROM alert_rules WHERE rule_id = $id", {"id": rule_id}).fetchall()[0][0]
        if removed:
            audit.record(cur, acting, "remove alert", target=f"rule {rule_id}")
    if removed:
        store.committed()
    return bool(removed)


def rules(store: Store, cursor=None) -> list[AlertRule]:
    cur = cursor or store.cursor()
    if not store.has_table("alert_rules", cur):
        return []
    rows = cur.execute("SELECT rule_id, metric, kind, threshold, comparison, period_days, email, created_by, "
                       "created_at FROM alert_rules ORDER BY rule_id").fetchall()
    return [AlertRule(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7], r[8]) for r in rows]


def evaluate(rule: AlertRule, summary: LeadershipSummary) -> AlertResult:
    """Whether ``rule`` triggers on ``summary`` (the summary of its period), with a plain message."""
    number = summary.number(rule.metric)
    shown = metrics.format_value(rule.metric, number.value)
    if number.value is None or number.value != number.value:
        return AlertResult(rule, False, f"{number.label}: no data in the last {rule.period_days} days.", number.value)
    if rule.kind == "below_target":
        if number.target is None:
            return AlertResult(rule, False, f"{number.label} has no target set.", number.value)
        missed = number.meets_target is False
        return AlertResult(rule, missed, f"{number.label} is {shown}, {number.target.describe()}"
                           f"{' (missed)' if missed else ' (met)'}.", number.value)
    if rule.kind in ("below", "above"):
        hit = number.value < rule.threshold if rule.kind == "below" else number.value > rule.threshold
        return AlertResult(rule, hit, f"{number.label} is {shown} ({rule.kind} "
                           f"{metrics.format_value(rule.metric, rule.threshold)}: {'yes' if hit else 'no'}).",
                           number.value)
    change = number.change(rule.comparison)
    if change is None or not change.n or change.value != change.value:
        return AlertResult(rule, False, f"{number.label}: {COMPARISONS[rule.comparison]} has no data to compare "
                           "with, so the rule cannot be evaluated.", number.value)
    moved = change.change <= -rule.threshold if rule.kind == "down_by" else change.change >= rule.threshold
    hit = moved and change.significant
    why = ("beyond chance" if change.significant else
           "within what chance explains" if change.has_interval else "no interval to judge it against chance")
    return AlertResult(rule, hit, f"{number.label} is {shown} against {metrics.format_value(rule.metric, change.value)} "
                       f"in {change.label} ({metrics.format_change(rule.metric, change.change)}, {why}).", number.value)


def evaluate_all(store: Store, selected: Iterable[AlertRule] | None = None, cursor=None,
                 summary_for: Callable[[int], LeadershipSummary] | None = None) -> list[AlertResult]:
    """Evaluate every rule (or ``selected``), one summary per period length (``summary_for(days)`` when the
    caller has them cached, as the app does)."""
    chosen = rules(store, cursor) if selected is None else list(selected)
    # The CLV fit and the experiments cost a second or more: only a rule on the CLV of the base needs them.
    models = any(rule.metric == "predicted_revenue_90d" for rule in chosen)

    def compute(days: int) -> LeadershipSummary:
        return leadership_summary(store, period_filters(store, days, cursor=cursor), cursor=cursor, models=models)

    summary_for = summary_for or compute
    summaries: dict[int, LeadershipSummary] = {}
    out = []
    for rule in chosen:
        if rule.period_days not in summaries:
            summaries[rule.period_days] = summary_for(rule.period_days)
        out.append(evaluate(rule, summaries[rule.period_days]))
    return out


def _previously_triggered(cur, rule_id: int) -> bool:
    row = cur.execute("SELECT triggered FROM alert_events WHERE rule_id = $id ORDER BY evaluated_at DESC LIMIT 1",
                      {"id": rule_id}).fetchall()
    return bool(row and row[0][0])


def record(store: Store, results: list[AlertResult], notify: str = "new") -> list[AlertResult]:
    """Log ``results`` in ``alert_events`` and e-mail triggered rules that have an address: ``notify="new"`` only
    those that did not trigger at their previous evaluation (after a load), ``"all"`` every triggered one,
    ``"none"`` nobody. Returns the results that were e-mailed."""
    from engagement.leadership import mail

    cur = store.cursor()
    load_id = cur.execute("SELECT coalesce(max(load_id), 0) FROM loads").fetchall()[0][0]
    to_send = [r for r in results if r.triggered and r.rule.email and notify != "none"
               and (notify == "all" or not _previously_triggered(cur, r.rule.rule_id))]
    sent = []
    for result in to_send:
        try:
            mail.send(result.rule.email, f"Alert: {result.rule.describe()}",
                      f"{result.message}\n\nRule {result.rule.rule_id}: {result.rule.describe()}.\n")
            sent.append(result)
        except mail.MailError as exc:  # the evaluation is still logged; the reason is in the log
            _LOG.warning("alert %s not e-mailed: %s", result.rule.rule_id, exc)
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    # The hook also runs after the load's model refit commits: an evaluation that says what this rule's last one
    # said for the same load is not logged again (it would hide which evaluation sent the e-mail).
    last = {e["rule_id"]: e for e in latest_events(store, cur)} if notify == "new" else {}
    results_to_log = [r for r in results if any(r is s for s in sent) or not (
        (seen := last.get(r.rule.rule_id)) and seen["load_id"] == load_id and seen["triggered"] == r.triggered
        and seen["message"] == r.message)]
    with store.write() as cur:
        for r in results_to_log:
            cur.execute("INSERT INTO alert_events VALUES ($id, $at, $load, $triggered, $message, $emailed)",
                        {"id": r.rule.rule_id, "at": at, "load": load_id, "triggered": r.triggered,
                         "message": r.message, "emailed": r.rule.email if any(r is s for s in sent) else None}).fetchall()
    return sent


PURPOSE = "alert-evaluation"  # this module's background worker (engagement.warehouse.background)


def after_load(store: Store) -> None:
    """The after-commit hook ``open_workbench`` installs on writable stores: evaluate every rule, log it, e-mail
    the newly triggered ones. A failure is logged (this module's logger), never raised: the load it follows has
    committed.

    Where the store does its after-commit work in the background (the app: ``store.refit_in_background``), so does
    this: a load returns when its data is in, not after the summaries and an SMTP round trip. One evaluation at a
    time per store; a commit during one asks for another after it, which reads the data as it then is.
    """
    if not getattr(store, "refit_in_background", False):
        _evaluate_and_notify(store)
        return

    def evaluate_then_publish() -> None:
        if _evaluate_and_notify(store):
            _publish(store)

    worker_for(store, PURPOSE).request(evaluate_then_publish)


def _evaluate_and_notify(store: Store) -> bool:
    """Evaluate, log and e-mail (see :func:`after_load`); whether it logged an evaluation."""
    try:
        if not store.has_table("alert_rules") or not store.cursor().execute(
                "SELECT count(*) FROM alert_rules").fetchall()[0][0]:
            return False
        before = store.cursor().execute("SELECT count(*) FROM alert_events").fetchall()[0][0]
        with metrics.use_currency(order_currencies(store)):  # messages and e-mails name amounts
            record(store, evaluate_all(store), notify="new")
        return store.cursor().execute("SELECT count(*) FROM alert_events").fetchall()[0][0] != before
    except Exception as exc:  # noqa: BLE001 (see after_load)
        _LOG.warning("evaluating alert rules after a commit failed: %s: %s", type(exc).__name__, exc)
        return False


def _publish(store: Store) -> None:
    """After a background evaluation logged something: the store's other after-commit hooks (the snapshot
    publisher), so that readers of snapshots see it, as they saw it when the evaluation ran before them."""
    for hook in list(store.after_commit):
        if hook is not after_load:
            try:
                hook(store)
            except Exception as exc:  # noqa: BLE001 (the evaluation is logged; the next commit publishes)
                _LOG.warning("publishing after an alert evaluation failed: %s: %s", type(exc).__name__, exc)


def wait_for_alerts(store: Store) -> None:
    """Block until a background evaluation of ``store``'s rules has finished (tests; a script that exits)."""
    worker = existing_worker(store, PURPOSE)
    if worker is not None:
        worker.wait()


def latest_events(store: Store, cursor=None) -> list[dict]:
    """Each rule's latest logged evaluation (what the Summary and the digest show when they cannot evaluate)."""
    cur = cursor or store.cursor()
    if not store.has_table("alert_events", cur):
        return []
    rows = cur.execute("SELECT rule_id, evaluated_at, load_id, triggered, message, emailed_to FROM alert_events "
                       "QUALIFY row_number() OVER (PARTITION BY rule_id ORDER BY evaluated_at DESC) = 1 "
                       "ORDER BY rule_id").fetchall()
    return [dict(zip(("rule_id", "evaluated_at", "load_id", "triggered", "message", "emailed_to"), r)) for r in rows]
