"""Streamlit's settings in .streamlit/config.toml agree with what the README documents."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _settings() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_viewers_get_no_deploy_button_or_developer_menu():
    # streamlit/config.py (1.67): "viewer" hides the developer options, "including the rerun, clear cache,
    # and deploy button from the toolbar and menu".
    assert _settings()["client"]["toolbarMode"] == "viewer"


def test_upload_limit_is_the_documented_one(monkeypatch):
    from engagement import config

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = re.search(r"\| `ENGAGEMENT_MAX_UPLOAD_MB` \|[^|]*\| (\d+) \|", readme)
    assert documented, "the README's configuration table lists ENGAGEMENT_MAX_UPLOAD_MB"
    monkeypatch.delenv("ENGAGEMENT_MAX_UPLOAD_MB", raising=False)
    loader_limit_mb = config.max_upload_bytes() // 1024 ** 2
    assert _settings()["server"]["maxUploadSize"] == int(documented.group(1)) == loader_limit_mb
