"""The digest: the leadership summary rendered to Markdown, HTML or PDF (ReportLab), charts as PNG images.

:func:`digest_content` turns a summary, the alert results, the annotations and the chart images into plain rows
and sentences; one renderer per format lays them out. Text that came from data or from a user (experiment
names, annotations, alert addresses) is escaped for each format, never interpreted as markup. Charts arrive as
PNG bytes from the caller (``engagement/charts/summary.py`` makes them), so this package stays below the
presentation layer.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Sequence

from engagement import metrics
from engagement.leadership.alerts import AlertResult
from engagement.leadership.headlines import change_sentence, experiment_phrase, headline, period_phrase
from engagement.leadership.summary import COMPARISONS, LeadershipSummary

FORMATS = ("pdf", "html", "md")
MIME = {"pdf": "application/pdf", "html": "text/html", "md": "text/markdown"}


@dataclass(frozen=True)
class DigestContent:
    title: str
    stamp: list[str]  # period, comparison, filters, data source, generated at
    headline: list[str]
    columns: list[str]
    rows: list[list[str]]
    sentences: list[str]
    experiments: list[tuple[str, str, str]]  # name, plain phrase, the full verdict
    alerts: list[tuple[bool, str, str]]  # triggered, rule, message
    annotations: list[tuple[str, str]]  # day, note
    images: list[tuple[str, bytes]] = field(default_factory=list)  # title, PNG


def _change_cell(key: str, change) -> str:
    if change is None or not change.n or change.value != change.value:
        return "no data"
    text = f"{metrics.format_value(key, change.value)} then, {metrics.format_change(key, change.change)}"
    if change.has_interval:
        text += (f" (95 % CI {metrics.format_change(key, change.ci_low)} to {metrics.format_change(key, change.ci_high)})"
                 f", {'beyond chance' if change.significant else 'within chance'}")
    else:
        text += ", no interval"
    return text


def digest_content(summary: LeadershipSummary, alert_results: Sequence[AlertResult] = (),
                   images: Sequence[tuple[str, bytes]] = (), annotations: Sequence[tuple[date, str]] = (),
                   source: str = "", generated_at: datetime | None = None) -> DigestContent:
    """Everything the digest shows, as plain text.

    ``annotations``: dated notes in the period (campaign launches, price changes), as (day, note) pairs, listed
    under their own heading in every format; ``source``: which database or snapshot the numbers were read from.
    """
    f = summary.filters
    generated_at = generated_at or datetime.now(timezone.utc).replace(tzinfo=None)
    filters = (f"channels: {', '.join(f.channels) if f.channels else 'all'}; "
               f"segments: {', '.join(f.segments) if f.segments else 'all'}")
    stamp = [f"Period: {period_phrase(summary)}", summary.comparison_note, f"Filters: {filters}",
             f"Data: orders from {summary.data_start} to {summary.data_end}" + (f"; read from {source}" if source else ""),
             f"Generated {generated_at:%Y-%m-%d %H:%M} UTC"]
    columns = ["Metric", "This period", f"Against {COMPARISONS['year']}", f"Against {COMPARISONS['previous']}",
               "Target"]
    rows, sentences = [], []
    for n in summary.shown:
        target = "none set" if n.target is None else (
            f"{n.target.describe().removeprefix('target: ')}: "
            f"{ {True: 'met', False: 'missed', None: 'no data'}[n.meets_target]}")
        rows.append([n.label, f"{metrics.format_value(n.key, n.value)} (n = {n.n:,})",
                     _change_cell(n.key, n.change("year")) if n.changes else "–",
                     _change_cell(n.key, n.change("previous")) if n.changes else "–", target])
        sentences.append(change_sentence(n.key, n.value, n.change(summary.comparison)) + (f" {n.note}" if n.note else ""))
    experiments = [(str(e["name"]), experiment_phrase(e), str(e["verdict"])) for e in summary.experiments]
    alerts = [(r.triggered, r.rule.describe(), r.message) for r in sorted(alert_results, key=lambda r: not r.triggered)]
    return DigestContent(f"Engagement digest: {f.start:%d %b %Y} – {f.end:%d %b %Y}", stamp, headline(summary),
                         columns, rows, sentences, experiments, alerts,
                         [(f"{day:%d %b %Y}", str(note)) for day, note in sorted(annotations, key=lambda a: a[0])],
                         list(images))


# ------------------------------------------------------------------------------------------------ Markdown
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md_text(text: str) -> str:
    """Text from data as literal Markdown text (no emphasis, links or HTML)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ").replace("\r", " ")
    return "\\" + escaped if escaped[:1] in ("#", "+", "-", "=") else escaped  # not a heading or list marker


def render_markdown(content: DigestContent, image_names: Sequence[str] = ()) -> str:
    """Markdown; charts are referenced by ``image_names`` (files written beside it), or left out."""
    out = [f"# {md_text(content.title)}", "", *[f"- {md_text(s)}" for s in content.stamp], "",
           *[md_text(s) for s in content.headline], "", "## The numbers", "",
           "| " + " | ".join(content.columns) + " |", "|" + "---|" * len(content.columns)]
    out += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in content.rows]
    out += ["", *[f"- {md_text(s)}" for s in content.sentences], ""]
    for (title, _), name in zip(content.images, image_names):
        out += [f"![{md_text(title)}]({name})", ""]
    out += _sections(content, lambda s: md_text(s), "## ", "- ")
    return "\n".join(out) + "\n"


def _sections(content: DigestContent, esc, heading: str, item: str, code=lambda command: f"`{command}`") -> list[str]:
    """The alerts, experiments and annotations; ``code`` marks up a command in the format (Markdown's backticks
    read as literal backticks in HTML and in the PDF)."""
    out = [f"{heading}Alerts", ""]
    out += [f"{item}{'TRIGGERED' if t else 'ok'}: {esc(rule)}. {esc(msg)}" for t, rule, msg in content.alerts] or \
        [f"{item}No alert rules are set ({code('python -m engagement alerts add')})."]
    out += ["", f"{heading}Latest experiments", ""]
    out += [f"{item}{esc(name)}: {esc(phrase)}. Details: {esc(verdict)}" for name, phrase, verdict in content.experiments] or \
        [f"{item}No experiments loaded."]
    out += ["", f"{heading}Annotations", ""]
    out += [f"{item}{esc(day)}: {esc(note)}" for day, note in content.annotations] or [f"{item}None in this period."]
    return out


# ---------------------------------------------------------------------------------------------------- HTML
def render_html(content: DigestContent) -> str:
    """One self-contained HTML page (charts inline as data: URIs); every text escaped."""
    e = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(content.title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
             "table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;"
             "vertical-align:top;text-align:left}.stamp{color:#555;font-size:.85rem}.headline{font-size:1.15rem}"
             "img{max-width:100%}</style></head><body>",
             f"<h1>{e(content.title)}</h1><ul class='stamp'>", *[f"<li>{e(s)}</li>" for s in content.stamp], "</ul>",
             *[f"<p class='headline'>{e(s)}</p>" for s in content.headline], "<h2>The numbers</h2><table><tr>",
             *[f"<th>{e(c)}</th>" for c in content.columns], "</tr>"]
    parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in content.rows]
    parts += ["</table><ul>", *[f"<li>{e(s)}</li>" for s in content.sentences], "</ul>"]
    for title, png in content.images:
        parts.append(f"<figure><img alt='{e(title)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                     f"<figcaption>{e(title)}</figcaption></figure>")
    lines = _sections(content, e, "\x00", "\x01", code=lambda command: f"<code>{e(command)}</code>")
    for line in lines:
        if line.startswith("\x00"):
            parts.append(f"<h2>{line[1:]}</h2>")
        elif line.startswith("\x01"):
            parts.append(f"<p>{line[1:]}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------------- PDF
def render_pdf(content: DigestContent) -> bytes:
    """An A4 PDF through ReportLab's platypus (paragraphs, a table, the charts as images)."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=1.6 * cm, rightMargin=1.6 * cm, topMargin=1.5 * cm,
                            bottomMargin=1.5 * cm, title=content.title, author="Engagement Workbench")
    story = [Paragraph(escape(content.title), styles["Title"])]
    story += [Paragraph(escape(s), small) for s in content.stamp] + [Spacer(1, 8)]
    story += [Paragraph(escape(s), styles["BodyText"].clone("lead", fontSize=11, leading=14)) for s in content.headline]
    story += [Spacer(1, 8), Paragraph("The numbers", styles["Heading2"])]
    table = Table([[Paragraph(f"<b>{escape(c)}</b>", small) for c in content.columns]]
                  + [[Paragraph(escape(c), small) for c in row] for row in content.rows],
                  colWidths=[3.3 * cm, 2.6 * cm, 4.6 * cm, 4.6 * cm, 2.7 * cm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7"))]))
    images = []
    for title, png in content.images:
        image = Image(io.BytesIO(png))
        # At most 85 % of the text width and 8 cm high, so the first chart fits on the first page.
        scale = min(doc.width * 0.85 / image.imageWidth, 8 * cm / image.imageHeight)
        image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
        images.append([Spacer(1, 8), image])
    story += [table, *(images[0] if images else [])]  # the changes chart right under the numbers it draws
    story += [Spacer(1, 6)] + [Paragraph("• " + escape(s), small) for s in content.sentences]
    for extra in images[1:]:
        story += extra
    def courier(command: str) -> str:
        return f'<font face="Courier">{escape(command)}</font>'

    for line in _sections(content, escape, "\x00", "\x01", code=courier):
        if line.startswith("\x00"):
            story.append(Paragraph(line[1:], styles["Heading2"]))
        elif line.startswith("\x01"):
            story.append(Paragraph(line[1:], small))
    doc.build(story)
    return buffer.getvalue()


def render(content: DigestContent, fmt: str, image_names: Sequence[str] = ()) -> bytes:
    """The digest as bytes in ``fmt`` (pdf, html or md)."""
    if fmt == "pdf":
        return render_pdf(content)
    if fmt == "html":
        return render_html(content).encode("utf-8")
    if fmt == "md":
        return render_markdown(content, image_names).encode("utf-8")
    raise ValueError(f"format is one of {', '.join(FORMATS)}, not {fmt!r}.")
