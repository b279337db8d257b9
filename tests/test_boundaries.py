"""Architecture rules that keep the library usable from a notebook and the CLI."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI_GLUE = ("engagement/ui.py", "engagement/ui_warehouse.py")  # the Streamlit glue


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_ui_glue_imports_streamlit():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "engagement").rglob("*.py")
        if str(p.relative_to(ROOT)) not in UI_GLUE and "streamlit" in _imports(p)
    ]
    assert offenders == [], f"only {UI_GLUE} may import streamlit: {offenders}"


def test_library_imports_without_streamlit_or_great_expectations():
    """Importing every library module (but the UI glue) loads neither streamlit nor GX (slow imports)."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "engagement").rglob("*.py")
        if str(p.relative_to(ROOT)) not in UI_GLUE and p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(k for k in ('streamlit', 'great_expectations') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sql_files_state_their_grain():
    """Every SQL file opens with a comment saying what one row is."""
    missing = [
        str(p.relative_to(ROOT)) for p in (ROOT / "engagement" / "sql").rglob("*.sql")
        if not re.match(r"--\s*Grain:", p.read_text(encoding="utf-8"))
    ]
    assert missing == []


def test_pages_are_thin():
    """Pages read widgets, call the library and render: no SQL and no statistics in them."""
    for page in (ROOT / "pages").glob("*.py"):
        text = page.read_text(encoding="utf-8")
        assert "duckdb" not in _imports(page), page
        assert not re.search(r"\bSELECT\b.+\bFROM\b", text), f"SQL in {page}"
        assert len(text.splitlines()) <= 200, f"{page} is too long for a page"
