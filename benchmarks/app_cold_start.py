"""App cold start: seconds from `streamlit run app.py` to the first rendered chart in headless Chromium.

Usage: python benchmarks/app_cold_start.py --db PATH [--runs 3]

Prints the median over runs. The database must exist (e.g. `python -m engagement demo --db PATH`).
As a baseline in the same run it also times a bare Streamlit script that renders one Altair chart,
so the ratio shows what the workbench adds on top of Streamlit itself.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BARE_APP = """
import altair as alt, pandas as pd, streamlit as st
st.title("bare")
st.altair_chart(alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x", y="y"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_chart(script: str, env: dict[str, str], browser) -> float:
    port = _free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector(".vega-embed", timeout=120_000)
        elapsed = time.perf_counter() - start
        page.close()
        return elapsed
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    env = {**os.environ, "ENGAGEMENT_DB": args.db, "ENGAGEMENT_READ_ONLY": "1"}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        baseline = [time_to_first_chart(str(bare), env, browser) for _ in range(args.runs)]
        ours = [time_to_first_chart("app.py", env, browser) for _ in range(args.runs)]
        browser.close()
    b, o = statistics.median(baseline), statistics.median(ours)
    print(f"cold start to first chart: bare streamlit {b:.2f} s, workbench {o:.2f} s, ratio {o / b:.2f}x "
          f"(median of {args.runs})")


if __name__ == "__main__":
    main()
