"""``digest``, ``alerts`` and ``targets``: the leadership layer on the command line.

``digest`` and ``alerts check`` only read: they open the database read-only, or the writer's latest read-only
snapshot while the app holds the file, so they run from cron or a systemd timer beside a running app
(docs/leadership.md). ``alerts add|remove`` and ``targets set|remove`` write as the CLI's analyst.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from engagement.commands.common import (
    CliError, add_db_option, add_filter_options, emit, open_store,
)


def _summary(store, args: argparse.Namespace):
    from engagement.filters import Filters
    from engagement.leadership.summary import leadership_summary, parse_period, period_filters

    try:
        if args.start or args.end:
            default = period_filters(store, parse_period(args.period))
            filters = Filters(start=args.start or default.start, end=args.end or default.end,
                              channels=tuple(args.channel or ()), segments=tuple(args.segment or ()))
        else:
            filters = period_filters(store, parse_period(args.period), tuple(args.channel or ()),
                                     tuple(args.segment or ()))
        return leadership_summary(store, filters, comparison=args.comparison)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _source(store) -> str:
    return store.snapshot_of.describe() if store.snapshot_of is not None else f"the database {store.path}"


def digest_charts(store, summary) -> list[tuple[str, bytes]]:
    """The digest's charts as PNG: the changes with their intervals, and net revenue by month over the year to
    the period's end (same customer selection)."""
    from engagement.charts import monthly_revenue_chart
    from engagement.charts.summary import change_chart, change_frame, chart_png
    from engagement.filters import Filters
    from engagement.value.kpis import aov_by_month

    f = summary.filters
    images = []
    if not change_frame(summary).empty:
        images.append((f"Change against {summary.comparison_label}, with 95 % intervals", chart_png(change_chart(summary))))
    year = Filters(start=f.end - timedelta(days=364), end=f.end, channels=f.channels, segments=f.segments)
    monthly = aov_by_month(store, year)
    if not monthly.empty:
        title = f"Net revenue by month, {year.start:%b %Y} – {year.end:%b %Y}"
        images.append((title, chart_png(monthly_revenue_chart(monthly).properties(title=title, width=520))))
    return images


def _digest_format(given: str | None, out: Path) -> str:
    """--format, else the one --out's extension names (digest.md is Markdown; it was a PDF named .md), else PDF; a
    --format that contradicts the extension is refused rather than written under a misleading name."""
    named = {".pdf": "pdf", ".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}.get(out.suffix.lower())
    if given is not None and named is not None and given != named:
        raise CliError(f"--format {given} and --out {out.name} disagree: name the file .{given}, or drop --format.")
    return given or named or "pdf"


def cmd_digest(args: argparse.Namespace) -> int:
    from engagement.leadership import alerts, digest, mail
    from engagement.leadership.annotations import list_annotations

    args.format = _digest_format(args.format, Path(args.out))
    store = open_store(args)
    summary = _summary(store, args)
    noted = list_annotations(store, summary.filters.start, summary.filters.end)
    content = digest.digest_content(summary, alerts.evaluate_all(store), digest_charts(store, summary),
                                    annotations=list(zip(noted["noted_on"], noted["note"])), source=_source(store))
    out = Path(args.out)
    image_names: list[str] = []
    extra: list[tuple[str, bytes, str]] = []
    if args.format == "md":  # Markdown cannot hold images: they are written beside it
        folder = out.with_name(out.stem + "_files")
        folder.mkdir(parents=True, exist_ok=True)
        for i, (_, png) in enumerate(content.images, 1):
            name = f"chart{i}.png"
            (folder / name).write_bytes(png)
            image_names.append(f"{folder.name}/{name}")
            extra.append((name, png, "image/png"))
    data = digest.render(content, args.format, image_names)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise CliError(f"Cannot write {out}: {exc}") from None
    record = {"out": str(out), "format": args.format, "bytes": len(data), "start": summary.filters.start.isoformat(),
              "end": summary.filters.end.isoformat(), "comparison": summary.comparison, "source": _source(store),
              "headline": content.headline, "charts": [title for title, _ in content.images],
              "alerts_triggered": sum(t for t, _, _ in content.alerts), "emailed_to": None}
    if args.email:
        try:
            mail.send(args.email, content.title, digest.render_markdown(content),
                      html=digest.render_html(content) if args.format == "html" else None,
                      attachments=((out.name, data, digest.MIME[args.format]), *extra))
        except mail.MailError as exc:
            raise CliError(f"The digest was written to {out}, but not e-mailed: {exc}") from None
        record["emailed_to"] = args.email
    emit(record, "json")
    return 0


def _threshold(metric: str, text: str | None) -> float | None:
    from engagement import metrics
    from engagement.leadership.targets import parse_target_value

    if text is None:
        return None
    raw = text.strip().lower()
    points = raw.endswith(("pts", "pt", "points"))
    raw = raw.removesuffix("points").removesuffix("pts").removesuffix("pt").strip()
    if points and metrics.metric(metric).unit == "share":
        raw += "%"
    return parse_target_value(metric, raw)


def cmd_alerts(args: argparse.Namespace) -> int:
    from engagement.leadership import alerts
    from engagement.leadership.summary import parse_period

    try:
        if args.alerts_command == "add":
            store = open_store(args, read_only=False)
            rule = alerts.add_rule(store, args.metric, args.kind, _threshold(args.metric, args.threshold),
                                   args.comparison, parse_period(args.period), args.email)
            emit(rule.as_record(), "json")
        elif args.alerts_command == "remove":
            store = open_store(args, read_only=False)
            if not alerts.remove_rule(store, args.rule_id):
                raise CliError(f"There is no alert rule {args.rule_id}.")
            emit({"rule_id": args.rule_id, "status": "removed"}, "json")
        elif args.alerts_command == "list":
            store = open_store(args, needs_derived=False)
            emit([r.as_record() for r in alerts.rules(store)], "json")
        else:
            store = open_store(args)
            results = alerts.evaluate_all(store)
            sent = []
            if args.email:
                from engagement.leadership import mail

                for r in results:
                    if r.triggered and r.rule.email:
                        try:
                            mail.send(r.rule.email, f"Alert: {r.rule.describe()}", r.message + "\n")
                        except mail.MailError as exc:
                            raise CliError(str(exc)) from None
                        sent.append(r.rule.rule_id)
            emit({"source": _source(store), "triggered": sum(r.triggered for r in results), "emailed_rules": sent,
                  "results": [r.as_record() for r in results]}, "json")
    except (KeyError, ValueError) as exc:
        raise CliError(str(exc).strip('"')) from None
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from engagement.leadership import targets

    try:
        if args.targets_command == "set":
            store = open_store(args, read_only=False)
            target = targets.set_target(store, args.metric, targets.parse_target_value(args.metric, args.value),
                                        args.direction)
            emit({"metric": target.metric, "target": target.target, "direction": target.direction,
                  "set_by": target.set_by, "description": target.describe()}, "json")
        elif args.targets_command == "remove":
            store = open_store(args, read_only=False)
            if not targets.remove_target(store, args.metric):
                raise CliError(f"{args.metric} has no target.")
            emit({"metric": args.metric, "status": "removed"}, "json")
        else:
            store = open_store(args, needs_derived=False)
            emit([{"metric": t.metric, "target": t.target, "direction": t.direction, "set_by": t.set_by,
                   "set_at": t.set_at, "description": t.describe()} for t in targets.targets(store).values()], "json")
    except (KeyError, ValueError) as exc:
        raise CliError(str(exc).strip('"')) from None
    return 0


def add_leadership_parsers(commands) -> None:
    from engagement.leadership.alerts import KINDS
    from engagement.leadership.digest import FORMATS
    from engagement.leadership.summary import COMPUTED_METRICS
    from engagement.leadership.targets import DIRECTIONS

    digest = commands.add_parser("digest", help="render the leadership summary to a PDF, HTML or Markdown file")
    digest.add_argument("--period", default="30d", help="the last N days of data: 30d, 6w, 3m, 1y (default 30d)")
    digest.add_argument("--comparison", choices=("auto", "year", "previous"), default="auto",
                        help="what the headline compares with (default: the same period last year when covered)")
    digest.add_argument("--format", choices=FORMATS,
                        help="pdf, html or md (default: the one --out's extension names, else pdf)")
    digest.add_argument("--out", required=True, help="file to write (.pdf, .html or .md)")
    digest.add_argument("--email", help="also send it to this address (SMTP from ENGAGEMENT_SMTP_* variables)")
    add_filter_options(digest)
    add_db_option(digest)
    digest.set_defaults(handler=cmd_digest)

    alerts = commands.add_parser("alerts", help="alert rules on the Summary's metrics: add, list, remove, check")
    sub = alerts.add_subparsers(dest="alerts_command", required=True)
    add = sub.add_parser("add", help="add a rule, e.g. `alerts add nps below 30`")
    add.add_argument("metric", choices=COMPUTED_METRICS)
    add.add_argument("kind", choices=KINDS)
    add.add_argument("threshold", nargs="?", help="30, 30%%, 3pts (a change), or nothing for below_target")
    add.add_argument("--comparison", choices=("year", "previous"), default="year",
                     help="for down_by/up_by (default: the same period last year)")
    add.add_argument("--period", default="30d", help="the window the rule reads (default 30d)")
    add.add_argument("--email", help="who is told when it starts to trigger")
    remove = sub.add_parser("remove", help="remove a rule")
    remove.add_argument("rule_id", type=int)
    sub.add_parser("list", help="list the rules")
    check = sub.add_parser("check", help="evaluate every rule now and print the results")
    check.add_argument("--email", action="store_true", help="e-mail every triggered rule that has an address")
    for parser in (add, remove, sub.choices["list"], check):
        add_db_option(parser)
    alerts.set_defaults(handler=cmd_alerts)

    targets = commands.add_parser("targets", help="targets per metric: set, list, remove")
    tsub = targets.add_subparsers(dest="targets_command", required=True)
    tset = tsub.add_parser("set", help="set a target, e.g. `targets set nps 40`")
    tset.add_argument("metric")
    tset.add_argument("value", help="30%% or 0.30 for a share, 40 for NPS")
    tset.add_argument("--direction", choices=DIRECTIONS, default="at_least")
    tremove = tsub.add_parser("remove", help="remove a target")
    tremove.add_argument("metric")
    tsub.add_parser("list", help="list the targets")
    for parser in (tset, tremove, tsub.choices["list"]):
        add_db_option(parser)
    targets.set_defaults(handler=cmd_targets)
