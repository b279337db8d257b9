"""The digest in each format, its numbers against `report kpis`, e-mailed to an SMTP server the test starts, and
run against the writer's read-only snapshot while another process holds the database."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from pypdf import PdfReader
from smtp_fixture import smtp  # noqa: F401 (the local SMTP server)

from engagement.cli import main
from engagement.leadership.digest import DigestContent, render_html, render_markdown, render_pdf
from engagement.leadership.summary import parse_period, period_filters


def _run(capsys, *argv) -> dict:
    code = main(list(argv))
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


@pytest.fixture(scope="module")
def kpis(demo_db_path, demo_store):
    """`report kpis` for the digest's default window (the last 30 days of data)."""
    window = period_filters(demo_store, parse_period("30d"))
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        assert main(["report", "kpis", "--db", str(demo_db_path), "--start", window.start.isoformat(),
                     "--end", window.end.isoformat(), "--format", "json"]) == 0
    finally:
        sys.stdout = sys_stdout
    return {m["metric"]: m for m in json.loads(out.getvalue())["metrics"]}


SHOWN = ("repeat_purchase_rate", "returning_revenue_share", "nps", "active_loyalty_members_90d")


def test_pdf_digest_quotes_the_numbers_report_kpis_prints(tmp_path, capsys, demo_db_path, kpis):
    out = tmp_path / "digest.pdf"
    record = _run(capsys, "digest", "--period", "30d", "--format", "pdf", "--out", str(out), "--db", str(demo_db_path))
    assert record["out"] == str(out) and record["comparison"] == "year"
    reader = PdfReader(out)
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    for key in SHOWN:
        assert f"{kpis[key]['shown_value']} (n = {kpis[key]['n']:,})" in text, key
    assert f"Period: {record['start'][8:10]}" in text and "Compared with the same period last year" in text
    assert "Filters: channels: all; segments: all" in text and "read from the database" in text
    images = sum(len(page.images) for page in reader.pages)
    assert images == len(record["charts"]) == 2  # the charts are in the PDF as images


def test_html_digest_is_self_contained_and_quotes_the_same_numbers(tmp_path, capsys, demo_db_path, kpis):
    out = tmp_path / "digest.html"
    record = _run(capsys, "digest", "--format", "html", "--out", str(out), "--db", str(demo_db_path))
    page = out.read_text(encoding="utf-8")
    for key in SHOWN:
        assert kpis[key]["shown_value"] in page
    assert page.count("src='data:image/png;base64,") == len(record["charts"]) == 2
    assert record["headline"][0] in page.replace("&#x27;", "'")


def test_markdown_digest_writes_its_charts_beside_it(tmp_path, capsys, demo_db_path, kpis):
    out = tmp_path / "digest.md"
    _run(capsys, "digest", "--format", "md", "--out", str(out), "--db", str(demo_db_path))
    text = out.read_text(encoding="utf-8")
    for key in SHOWN:
        assert kpis[key]["shown_value"] in text
    for name in ("chart1.png", "chart2.png"):
        assert f"](digest_files/{name})" in text
        assert (tmp_path / "digest_files" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_digest_is_emailed_with_its_attachment(tmp_path, capsys, demo_db_path, smtp):
    out = tmp_path / "digest.pdf"
    record = _run(capsys, "digest", "--format", "pdf", "--out", str(out), "--db", str(demo_db_path),
                  "--email", "board@example.org")
    assert record["emailed_to"] == "board@example.org"
    [message] = smtp.messages
    assert smtp.envelopes[0].rcpt_tos == ["board@example.org"]
    assert message["From"] == "digest@example.com" and message["Subject"].startswith("Engagement digest:")
    assert record["headline"][0] in " ".join(message.get_body(("plain",)).get_content().split()).replace("\\", "")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "digest.pdf" and attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == out.read_bytes()


def test_without_smtp_settings_the_file_is_kept_and_the_error_says_what_to_set(tmp_path, capsys, demo_db_path,
                                                                              monkeypatch):
    monkeypatch.delenv("ENGAGEMENT_SMTP_HOST", raising=False)
    out = tmp_path / "digest.md"
    assert main(["digest", "--format", "md", "--out", str(out), "--db", str(demo_db_path), "--email", "x@y.z"]) == 1
    assert "ENGAGEMENT_SMTP_HOST" in capsys.readouterr().err and out.exists()


def test_the_format_follows_the_file_name(tmp_path, capsys, demo_db_path):
    """--out digest.md without --format wrote a PDF named .md; the extension now names the format, and a --format
    that contradicts it is refused before anything is written."""
    record = _run(capsys, "digest", "--out", str(tmp_path / "digest.md"), "--db", str(demo_db_path))
    assert record["format"] == "md" and (tmp_path / "digest.md").read_text().startswith("# Engagement digest")
    assert main(["digest", "--format", "pdf", "--out", str(tmp_path / "other.html"), "--db", str(demo_db_path)]) == 1
    assert "disagree" in capsys.readouterr().err and not (tmp_path / "other.html").exists()
    record = _run(capsys, "digest", "--out", str(tmp_path / "digest"), "--db", str(demo_db_path))
    assert record["format"] == "pdf" and (tmp_path / "digest").read_bytes().startswith(b"%PDF")


def test_bad_period_is_a_clear_error(tmp_path, capsys, demo_db_path):
    assert main(["digest", "--period", "soon", "--out", str(tmp_path / "d.pdf"), "--db", str(demo_db_path)]) == 1
    assert "30d" in capsys.readouterr().err


def test_text_from_data_is_text_in_every_format():
    content = DigestContent("t", ["s"], ["h"], ["Metric"], [["<b>x</b>"]], [], [("<script>alert(1)</script>",
                            "positive", "*won* [link](http://x)")], [], [("01 Jan 2026", "# Black *Friday*")])
    html_text = render_html(content)
    assert "<script>alert" not in html_text and "&lt;script&gt;" in html_text and "<b>x</b>" not in html_text
    md = render_markdown(content)
    assert "\\*won\\*" in md and "\\[link\\]" in md and "\\# Black \\*Friday\\*" in md
    pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(content))).pages)
    assert "<script>alert(1)</script>" in pdf_text and "# Black *Friday*" in pdf_text


def test_the_command_in_the_alerts_line_is_code_not_literal_backticks():
    """Without alert rules the digest names the command that adds one: Markdown marks it with backticks, HTML
    with <code>, the PDF in Courier; a reader of the HTML or the PDF sees no backtick."""
    content = DigestContent("t", ["s"], ["h"], ["Metric"], [["x"]], [], [], [], [])
    assert "(`python -m engagement alerts add`)" in render_markdown(content)
    html_text = render_html(content)
    assert "<code>python -m engagement alerts add</code>" in html_text and "`" not in html_text
    pdf = PdfReader(io.BytesIO(render_pdf(content)))
    pdf_text = " ".join(p.extract_text() for p in pdf.pages)
    assert "python -m engagement alerts add" in pdf_text and "`" not in pdf_text
    fonts = {str(f["/BaseFont"]) for page in pdf.pages for f in page["/Resources"]["/Font"].values()}
    assert "/Courier" in fonts


def test_the_monthly_chart_has_a_tick_per_bar_and_none_after_the_last():
    """A year of monthly bars (the digest's revenue chart) is labelled with its 12 months: a bar spans its month,
    so the scale runs to the next month's start, where Vega-Lite used to draw a 13th tick."""
    import re

    import pandas as pd
    from vl_convert import vegalite_to_svg

    from engagement.charts import monthly_revenue_chart

    months = pd.date_range("2025-11-01", "2026-10-01", freq="MS")
    chart = monthly_revenue_chart(pd.DataFrame({"month": months, "revenue": range(12), "orders": range(12)}))
    svg = vegalite_to_svg(chart.properties(width=520).to_dict())
    labels = re.findall(r">((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4})<", svg)
    assert labels == [f"{m:%b %Y}" for m in months]


WRITER = """
import sys
from engagement.workbench import open_workbench
from engagement.warehouse import snapshots
store = open_workbench(sys.argv[1], read_only=False)
snapshots.enable(store, background=False)
print("ready", flush=True)
sys.stdin.read()
"""


def test_the_digest_runs_on_the_snapshot_while_another_process_holds_the_database(tmp_path, capsys, demo_db_path):
    import shutil

    held = tmp_path / "held.duckdb"
    shutil.copy(demo_db_path, held)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(held)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        record = _run(capsys, "digest", "--format", "md", "--out", str(tmp_path / "d.md"), "--db", str(held))
        assert record["source"].startswith("a read-only snapshot as of load #")
        assert "read from a read-only snapshot" in (tmp_path / "d.md").read_text(encoding="utf-8")
    finally:
        writer.stdin.close()
        writer.wait()


def test_the_digest_lists_the_annotations_of_its_period(tmp_path, capsys, demo_db_path, demo_store):
    """An annotation dated inside the digest's window is listed; one dated before the window is not."""
    import shutil

    db = tmp_path / "annotated.duckdb"
    shutil.copy(demo_db_path, db)
    window = period_filters(demo_store, parse_period("30d"))
    inside, before = window.end.isoformat(), (window.start.replace(day=1) - __import__("datetime").timedelta(days=40))
    assert main(["annotations", "add", inside, "Black Friday <b>sale</b>", "--db", str(db)]) == 0
    assert main(["annotations", "add", before.isoformat(), "Old price change", "--db", str(db)]) == 0
    capsys.readouterr()
    out = tmp_path / "digest.md"
    _run(capsys, "digest", "--format", "md", "--out", str(out), "--db", str(db))
    text = out.read_text(encoding="utf-8")
    assert "Black Friday" in text and "Old price change" not in text
    assert "None in this period" not in text
