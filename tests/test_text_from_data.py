"""Text from data reaches the page as text: every markdown-rendering call gets literals or ``ui.plain``.

Streamlit renders markdown (links, images, HTML-ish tags, math, :colour[...] directives) in st.markdown,
st.write, st.caption, the alert boxes, titles, toasts, expander and tab titles, metric labels, widget
labels and ``help`` tooltips. A survey comment such as ``![b](http://evil.example/x.png)`` passed to any of
them makes every viewer's browser fetch the image. The scan below reads pages/, app.py and engagement/ui/
with ``ast`` and fails on any such call whose text is not provably ours: a string literal, an UPPER_CASE
constant, a value formatted with a numeric or date format spec (``{n:,}``, ``{day:%d %b %Y}``: str.format
refuses those for strings), or a value that went through ``ui.plain``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engagement import ui

ROOT = Path(__file__).resolve().parents[1]
UI_MODULES = sorted((ROOT / "engagement" / "ui").glob("*.py"))
SOURCES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"] + UI_MODULES

HOSTILE = ("![b](http://evil.example/x.png) [Claim your refund](http://evil.example/phish) "
           "<img src=x onerror=alert(1)> **bold** $x$ :red[hi]")

# Calls whose first argument (or ``body``/``label``) is rendered as markdown.
TEXT_CALLS = {"markdown", "write", "caption", "error", "warning", "info", "success", "title", "header",
              "subheader", "toast", "expander", "tabs", "metric", "popover", "status", "exception"}
WIDGET_CALLS = {"button", "download_button", "selectbox", "multiselect", "radio", "segmented_control", "pills",
                "slider", "select_slider", "number_input", "text_input", "text_area", "date_input",
                "time_input", "checkbox", "toggle", "file_uploader", "form_submit_button", "color_picker",
                "link_button", "page_link", "synced_choice", "synced_number", "synced_text",
                "synced_multichoice"}
COLUMN_CONFIG_CALLS = {"Column", "TextColumn", "NumberColumn", "CheckboxColumn", "SelectboxColumn",
                       "DatetimeColumn", "DateColumn", "TimeColumn", "ListColumn", "LinkColumn", "ImageColumn",
                       "LineChartColumn", "BarChartColumn", "ProgressColumn", "AreaChartColumn"}
RENDERED_KEYWORDS = {"body", "label", "help", "placeholder", "caption"}
SAFE_FUNCTIONS = {"plain", "format_value", "format_change", "len", "int", "float", "round", "abs", "sum", "max", "min"}
# The ui package's own helpers receive labels from the pages, where the scan checks them at the call site.
PASSED_THROUGH = {p.relative_to(ROOT).as_posix(): {"label"} for p in UI_MODULES}


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.IfExp):  # (st.success if ok else st.info)(text)
        names = {_called_name(func.body), _called_name(func.orelse)}
        return next(iter(names)) if len(names) == 1 else (names & TEXT_CALLS or {None}).pop()
    return None


def _spec_refuses_strings(spec: ast.JoinedStr) -> bool:
    if not all(isinstance(part, ast.Constant) for part in spec.values):
        return False
    try:
        format("text", "".join(str(part.value) for part in spec.values))
    except ValueError:
        return True
    return False


def _is_safe(node: ast.expr, allowed: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(_is_safe(part, allowed) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        if node.format_spec is not None and _spec_refuses_strings(node.format_spec):
            return True
        return _is_safe(node.value, allowed)
    if isinstance(node, ast.Name):
        return node.id.isupper() or node.id in allowed
    if isinstance(node, ast.Attribute):
        # metrics.metric(key).label / .formula: the registry's own text (engagement/metrics.py), never data.
        registry = isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
            and node.value.func.attr == "metric" and isinstance(node.value.func.value, ast.Name) \
            and node.value.func.value.id == "metrics"
        return node.attr.isupper() or registry
    if isinstance(node, ast.Subscript):  # METRICS[metric][1], STAGE_LABELS[stage]
        return _is_safe(node.value, allowed)
    if isinstance(node, ast.BinOp):
        return _is_safe(node.left, allowed) and _is_safe(node.right, allowed)
    if isinstance(node, ast.IfExp):
        return _is_safe(node.body, allowed) and _is_safe(node.orelse, allowed)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_safe(e, allowed) for e in node.elts)
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in SAFE_FUNCTIONS:
            return True
        if name in {"capitalize", "lower", "upper", "format"} and isinstance(node.func, ast.Attribute):
            return _is_safe(node.func.value, allowed) and all(_is_safe(a, allowed) for a in node.args) \
                and all(_is_safe(k.value, allowed) for k in node.keywords)
    return False


def unsafe_calls(source: str, relative: str) -> list[str]:
    """``file:line call(...)`` for every markdown-rendering call given text that is not provably ours."""
    allowed = PASSED_THROUGH.get(relative, set())
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node.func)
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.value.id == "metrics":
            continue  # metrics.metric(key): the registry lookup, not st.metric
        rendered: list[ast.expr] = []
        if name in TEXT_CALLS | WIDGET_CALLS | COLUMN_CONFIG_CALLS and node.args and name != "page_link":
            # (page_link's first argument is the page to open; its text is the ``label`` keyword)
            rendered.append(node.args[0])
        if name in TEXT_CALLS | WIDGET_CALLS | COLUMN_CONFIG_CALLS:
            rendered += [k.value for k in node.keywords if k.arg in RENDERED_KEYWORDS]
        elif name is not None:
            rendered += [k.value for k in node.keywords if k.arg == "help"]
        for expr in rendered:
            if not _is_safe(expr, allowed):
                found.append(f"{relative}:{node.lineno} {name}({ast.unparse(expr)[:80]})")
    return found


def test_pages_pass_data_to_markdown_only_through_plain():
    found = []
    for path in SOURCES:
        relative = path.relative_to(ROOT).as_posix()
        found += unsafe_calls(path.read_text(encoding="utf-8"), relative)
    assert not found, "text that may come from data reaches markdown without ui.plain:\n" + "\n".join(found)


@pytest.mark.parametrize("snippet, flagged", [
    ("st.markdown(f'> {example}')", True),
    ("st.caption(note)", True),
    ("left.metric(label.capitalize(), '1')", True),
    ("st.expander(f'{theme.label} · {theme.comments:,} comments')", True),
    ("(st.success if ok else st.info)(difference_sentence(result))", True),
    ("st.selectbox('x', options, help=column.description)", True),
    ("st.markdown(f'> {ui.plain(example)}')", False),
    ("st.caption(f'{filters.start:%d %b %Y}, n = {n:,}, {share:.1%}')", False),
    ("st.warning(NOTICE.format(customers=int(n)))", False),
    ("st.title('Data')", False),
    ("st.metric(row.key, '1')", True),
    ("st.caption(metrics.metric(key).label)", False),
    ("st.page_link(page, label=name)", True),
    ("st.page_link(page, label='Overview')", False),
])
def test_the_scan_tells_data_from_literals(snippet, flagged):
    assert bool(unsafe_calls(snippet, "pages/example.py")) is flagged


def test_plain_leaves_no_markdown_to_interpret():
    """Every character that opens inline markup is escaped; the escapes resolve back to the original text."""
    escaped = ui.plain(HOSTILE)
    assert "\\:red" in escaped  # ":red" alone would still be a (text) directive
    for active in "[]<>*$":
        assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch == active), active
    # CommonMark: a backslash before ASCII punctuation stands for the character itself.
    unescaped, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            i += 1
        unescaped.append(escaped[i])
        i += 1
    shown = "".join(unescaped)
    assert shown.replace(ui.WORD_JOINER, "") == HOSTILE


def test_plain_escapes_block_markers_only_at_the_start_of_a_line():
    assert ui.plain("# a\n- b\n+ c\n12. d\n3) e\n===") == "\\# a\n\\- b\n\\+ c\n12\\. d\n3\\) e\n\\==="
    assert ui.plain("95 % CI 1.2 to 3.4 (Wilson) - p = 0.03") == "95 % CI 1.2 to 3.4 (Wilson) - p = 0.03"


def test_plain_breaks_bare_urls_and_addresses():
    """GFM autolinks bare URLs and e-mail addresses found in the text after escapes are resolved."""
    shown = ui.plain("http://evil.example/x HTTPS://evil.example www.evil.example me@evil.example").replace("\\", "")
    assert "http://" not in shown.lower() and "www." not in shown and "@evil" not in shown
    assert shown.replace(ui.WORD_JOINER, "") == "http://evil.example/x HTTPS://evil.example www.evil.example " \
                                                "me@evil.example"
