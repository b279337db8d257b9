"""Leadership on the pages: headlines, "How this is computed", the Summary's cards, alerts, targets and rules."""

from __future__ import annotations

from typing import Any, Sequence

import streamlit as st

from engagement.ui.auth import can_write, current_actor
from engagement.ui import warehouse as ui_warehouse
from engagement.ui.text import plain
from engagement.warehouse.access import WriteRefused
from engagement.warehouse.store import Store


def headline(sentences: Sequence[str]) -> None:
    """A page's headline: one or two plain sentences from its own numbers (engagement/leadership/headlines.py)."""
    for sentence in sentences:
        st.markdown(f"**{plain(sentence)}**")


def how_computed(lines: Sequence[str]) -> None:
    """The methodology behind a page's numbers (tests, models, references), out of the way of its readers."""
    with st.expander("How this is computed"):
        for line in lines:
            st.markdown(f"- {plain(line)}")
        st.page_link("pages/methodology.py", label="Every metric's definition: Methodology",
                     icon=":material/menu_book:")


def summary_cards(summary: Any) -> None:
    """One card per leadership number: its value, its change against the summary's comparison (coloured only
    when more than chance explains it) and its target."""
    from engagement import metrics

    numbers = list(summary.shown)
    for row in (numbers[:3], numbers[3:]):
        for column, number in zip(st.columns(3), row):
            change = number.change(summary.comparison)
            usable = change is not None and change.n and change.value == change.value
            delta = metrics.format_change(number.key, change.change) if usable else None
            unchanged = usable and metrics.change_rounds_to_zero(number.key, change.change)  # "+0.0 pts": no arrow
            column.metric(plain(number.label), metrics.format_value(number.key, number.value), delta=delta,
                          delta_color="normal" if usable and change.significant else "off", border=True,
                          delta_arrow="off" if unchanged else "auto", help=plain(metrics.metric(number.key).formula))
            notes = [f"n = {number.n:,}"]
            if usable:
                notes.append(("beyond chance" if change.significant else "within chance" if change.has_interval
                              else "no interval") + f" against {change.label}")
            if number.target is not None:
                notes.append(f"{number.target.describe()}: {'met' if number.meets_target else 'missed'}")
            column.caption(plain(" · ".join(notes)))


def triggered_alerts(results: Sequence[Any]) -> None:
    """Triggered alert rules as warnings (messages are built from rule settings and numbers: shown as text)."""
    fired = [r for r in results if r.triggered]
    if not results:
        st.caption("No alert rules are set. Analysts add them below or with `python -m engagement alerts add`.")
    elif not fired:
        st.success(f"None of the {len(results)} alert rules is triggered.")
    for result in fired:
        st.warning(plain(f"{result.rule.describe()}: {result.message}"), icon=":material/notifications_active:")


def leadership_settings(store: Store, summary: Any) -> None:
    """Targets and alert rules: listed for everyone, editable by analysts (written as the signed-in user)."""
    from engagement import metrics
    from engagement.leadership import alerts, targets
    from engagement.leadership.summary import COMPUTED_METRICS, SUMMARY_METRICS

    store = ui_warehouse.settings_store(store)  # warehouse mode: the workbench's own DuckDB database
    rules = alerts.rules(store)
    saved = st.session_state.pop("leadership_saved", None)
    with st.expander(f"Targets and alert rules ({len(rules)} rules)", expanded=saved is not None):
        if saved:
            st.success(plain(saved))
        last = {e["rule_id"]: e for e in alerts.latest_events(store)}
        for rule in rules:
            seen = last.get(rule.rule_id)
            when = (f" · last evaluated after load #{seen['load_id']}"
                    f"{', e-mailed to ' + seen['emailed_to'] if seen and seen['emailed_to'] else ''}" if seen else "")
            st.caption(plain(f"Rule {rule.rule_id}: {rule.describe()}{' → ' + rule.email if rule.email else ''}{when}"))
        if not can_write(store):
            st.caption("Only analysts set targets and alert rules (this session cannot write).")
            return
        with st.form("leadership_target"):
            a, b, c = st.columns(3)
            key = a.selectbox("Metric", SUMMARY_METRICS, format_func=lambda k: metrics.metric(k).label)
            value = b.text_input("Target", placeholder="30% or 40")
            direction = c.selectbox("Direction", targets.DIRECTIONS, format_func=lambda d: d.replace("_", " "))
            if st.form_submit_button("Set target"):
                try:
                    targets.set_target(store, key, targets.parse_target_value(key, value), direction,
                                       actor=current_actor())
                    # Run the page again: the cards above were drawn before this save.
                    st.session_state["leadership_saved"] = f"Target set for {metrics.metric(key).label}."
                    st.rerun()
                except (ValueError, WriteRefused) as exc:
                    st.error(plain(exc))
        with st.form("leadership_alert"):
            a, b, c, d = st.columns(4)
            key = a.selectbox("Metric", COMPUTED_METRICS, format_func=lambda k: metrics.metric(k).label)
            kind = b.selectbox("When", alerts.KINDS, format_func=lambda k: k.replace("_", " "))
            threshold = c.text_input("Threshold", placeholder="30, 30% or 3 (points of change)")
            email = d.text_input("E-mail (optional)")
            if st.form_submit_button("Add alert rule"):
                try:
                    amount = targets.parse_target_value(key, threshold) if threshold.strip() else None
                    alerts.add_rule(store, key, kind, amount, email=email.strip() or None, actor=current_actor())
                    st.session_state["leadership_saved"] = "Alert rule added; it is evaluated after every load."
                    st.rerun()
                except (ValueError, WriteRefused) as exc:
                    st.error(plain(exc))
