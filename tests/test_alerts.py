"""Alert rules: stored in the database, evaluated after a load (and e-mailed when they start to trigger), and by
`alerts check`; the CLI's JSON and its refusals."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from engagement.cli import main
from engagement.derived.refits import wait_for_refits
from engagement.leadership import alerts
from engagement.leadership.summary import Change, leadership_summary, period_filters
from engagement.warehouse.access import Actor, WriteRefused
from engagement.workbench import open_workbench
from conftest import hand_fixture_frames
from smtp_fixture import smtp  # noqa: F401 (the local SMTP server)


@pytest.fixture()
def store():
    s = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        s.load_frame(kind, frame)
    yield s
    s.close()


def _events(store):
    return store.cursor().execute("SELECT rule_id, load_id, triggered, message, emailed_to FROM alert_events "
                                  "ORDER BY evaluated_at, rule_id").fetchall()


def test_a_load_that_moves_nps_below_the_threshold_triggers_and_emails_the_rule(store, smtp):  # noqa: F811
    """The hand fixture's last 30 days (4 Feb - 5 Mar 2025) hold three NPS answers: 9, 3 and 0, so NPS =
    (1 - 2) / 3 = -33. Three more detractors make it (1 - 5) / 6 = -67, below -50."""
    rule = alerts.add_rule(store, "nps", "below", -50, email="cx@example.com")
    assert _events(store)[-1][2] is False  # evaluated when added (a commit): -33 is not below -50
    detractors = pd.DataFrame({"response_id": ["r7", "r8", "r9"], "customer_id": ["A", "B", "D"],
                               "responded_at": pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-03"]),
                               "kind": ["nps"] * 3, "score": [0, 2, 5]})
    load = store.load_frame("surveys", detractors)
    rule_id, load_id, triggered, message, emailed_to = _events(store)[-1]
    assert (rule_id, load_id, triggered, emailed_to) == (rule.rule_id, load.load_id, True, "cx@example.com")
    assert message == "NPS is -67 (below -50: yes)."
    [mail] = smtp.messages
    assert mail["To"] == "cx@example.com" and mail["Subject"] == "Alert: NPS below -50 (last 30 days)"
    assert "NPS is -67" in mail.get_content()
    store.load_frame("surveys", detractors.assign(response_id=["r10", "r11", "r12"]))
    assert _events(store)[-1][2] is True and len(smtp.messages) == 1  # still triggered: not e-mailed again


def test_a_change_alert_needs_the_change_to_be_beyond_chance():
    """down_by triggers only when the drop is at least the threshold AND the interval excludes zero."""
    rule = alerts.AlertRule(1, "nps", "down_by", 5.0, "year")

    def summary_with(change):
        from engagement.filters import Filters
        from engagement.leadership.summary import LeadershipSummary, SummaryNumber

        number = SummaryNumber("nps", 30.0, 200, 20.0, 40.0, changes={"year": change})
        return LeadershipSummary(Filters(date(2026, 1, 1), date(2026, 1, 30)), "year", "", (number,), (), None, None)

    wide = Change("year", date(2025, 1, 1), date(2025, 1, 30), 40.0, 200, -10.0, -21.0, 1.0, 0.08, "t")
    narrow = Change("year", date(2025, 1, 1), date(2025, 1, 30), 40.0, 200, -10.0, -16.0, -4.0, 0.001, "t")
    small = Change("year", date(2025, 1, 1), date(2025, 1, 30), 33.0, 200, -3.0, -5.0, -1.0, 0.01, "t")
    assert not alerts.evaluate(rule, summary_with(wide)).triggered
    assert "within what chance explains" in alerts.evaluate(rule, summary_with(wide)).message
    assert alerts.evaluate(rule, summary_with(narrow)).triggered
    assert not alerts.evaluate(rule, summary_with(small)).triggered


def test_below_target_reads_the_target_analysts_set(store):
    from engagement.leadership.targets import set_target

    rule = alerts.add_rule(store, "nps", "below_target")
    assert not alerts.evaluate_all(store)[0].triggered  # no target yet
    set_target(store, "nps", 0.0)
    [result] = alerts.evaluate_all(store, [rule])
    assert result.triggered and result.message == "NPS is -33, target: at least +0 (missed)."


def test_viewers_cannot_add_rules_and_bad_rules_are_refused(store):
    with pytest.raises(WriteRefused):
        alerts.add_rule(store, "nps", "below", 30, actor=Actor("v@example.com", "viewer", "oidc"))
    with pytest.raises(ValueError, match="Summary's numbers"):
        alerts.add_rule(store, "sample_ratio_p_value", "below", 0.01)
    with pytest.raises(ValueError, match="positive amount"):
        alerts.add_rule(store, "nps", "down_by", -3)
    with pytest.raises(ValueError, match="needs a threshold"):
        alerts.add_rule(store, "nps", "below")
    assert alerts.rules(store) == []


def test_the_default_comparison_of_a_change_rule_is_last_year(store):
    rule = alerts.add_rule(store, "repeat_purchase_rate", "down_by", 0.03)
    assert rule.comparison == "year" and "against the same period last year" in rule.describe()


def test_alerts_cli_json(tmp_path, capsys, demo_db_path):
    import shutil

    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db_path, db)
    assert main(["alerts", "add", "active_loyalty_members_90d", "down_by", "3pts", "--db", str(db)]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["threshold"] == pytest.approx(0.03) and added["comparison"] == "year"
    assert main(["alerts", "add", "nps", "below", "-100", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["alerts", "list", "--db", str(db)]) == 0
    assert [r["rule_id"] for r in json.loads(capsys.readouterr().out)] == [1, 2]
    assert main(["alerts", "check", "--db", str(db)]) == 0
    checked = json.loads(capsys.readouterr().out)
    by_rule = {r["rule_id"]: r for r in checked["results"]}
    # The demo's planted truth: loyalty members rarely buy, and fewer in the last 90 days than a year before.
    reader = open_workbench(db, read_only=True)
    summary = leadership_summary(reader, period_filters(reader, 30))
    reader.close()
    change = summary.number("active_loyalty_members_90d").change("year")
    assert by_rule[1]["triggered"] == (change.change <= -0.03 and change.significant)
    assert by_rule[2]["triggered"] is False and checked["triggered"] == int(by_rule[1]["triggered"])
    assert main(["alerts", "remove", "2", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["alerts", "remove", "2", "--db", str(db)]) == 1
    assert "no alert rule 2" in capsys.readouterr().err
    assert main(["alerts", "add", "nps", "sideways", "3", "--db", str(db)]) == 2  # usage error
    assert main(["targets", "set", "nps", "150", "--db", str(db)]) == 1
    assert "-100 to +100" in capsys.readouterr().err


def test_smtp_settings_come_from_the_environment_and_never_send_a_password_in_clear():
    from engagement.leadership.mail import MailError, settings_from_env

    with pytest.raises(MailError, match="ENGAGEMENT_SMTP_HOST"):
        settings_from_env({})
    tls = settings_from_env({"ENGAGEMENT_SMTP_HOST": "smtp.example.com", "ENGAGEMENT_SMTP_STARTTLS": "1",
                             "ENGAGEMENT_SMTP_USER": "u@example.com", "ENGAGEMENT_SMTP_PASSWORD": "secret"})
    assert (tls.port, tls.starttls, tls.sender) == (587, True, "u@example.com")
    with pytest.raises(MailError, match="unencrypted"):
        settings_from_env({"ENGAGEMENT_SMTP_HOST": "smtp.example.com", "ENGAGEMENT_SMTP_USER": "u",
                           "ENGAGEMENT_SMTP_PASSWORD": "secret"})
    with pytest.raises(MailError, match="must be numbers"):
        settings_from_env({"ENGAGEMENT_SMTP_HOST": "h", "ENGAGEMENT_SMTP_PORT": "twenty-five"})
    assert settings_from_env({"ENGAGEMENT_SMTP_HOST": "h"}).port == 25


def _detractors(ids):
    return pd.DataFrame({"response_id": ids, "customer_id": ["A", "B", "D"],
                         "responded_at": pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-03"]),
                         "kind": ["nps"] * 3, "score": [0, 2, 5]})


def test_in_the_app_the_evaluation_and_its_email_run_off_the_loading_thread(store, monkeypatch):
    """The app's stores work after a commit in the background (``refit_in_background``): the load returns with
    its data in, and the rule is evaluated and e-mailed on another thread (the same NPS case as above)."""
    import threading

    from engagement.leadership import mail

    sent_from = []
    monkeypatch.setattr(mail, "send", lambda to, subject, body: sent_from.append(threading.current_thread()))
    store.refit_in_background = True
    rule = alerts.add_rule(store, "nps", "below", -50, email="cx@example.com")
    alerts.wait_for_alerts(store)
    load = store.load_frame("surveys", _detractors(["r7", "r8", "r9"]))
    # The models refit in the background too, and their commit evaluates again: wait for both before the store
    # closes after the test.
    wait_for_refits(store)
    alerts.wait_for_alerts(store)
    assert len(sent_from) == 1 and sent_from[0] is not threading.current_thread()
    assert _events(store)[-1][:3] == (rule.rule_id, load.load_id, True) and _events(store)[-1][4] == "cx@example.com"


def test_a_failure_in_the_background_is_logged_and_the_load_stands(store, monkeypatch, caplog):
    from engagement.leadership import mail

    def broken(to, subject, body):
        raise RuntimeError("the relay hung up")

    monkeypatch.setattr(mail, "send", broken)
    store.refit_in_background = True
    alerts.add_rule(store, "nps", "below", -50, email="cx@example.com")
    alerts.wait_for_alerts(store)
    with caplog.at_level("WARNING", logger="engagement.leadership.alerts"):
        load = store.load_frame("surveys", _detractors(["r7", "r8", "r9"]))
        wait_for_refits(store)
        alerts.wait_for_alerts(store)
    assert load.load_id and store.table_counts()["surveys"] == 9  # committed, whatever the evaluation did
    assert any("RuntimeError: the relay hung up" in r.getMessage() for r in caplog.records)
