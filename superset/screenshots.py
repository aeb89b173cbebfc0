"""Open every dashboard in a real browser, wait for every chart, refuse any chart error, save screenshots.

Headless Chromium from Debian's package (`/usr/bin/chromium`, infra/install.sh), driven by
Playwright for Python through `executable_path`: Playwright never downloads a browser of its own.
Logs in through the (Russian) login form as a user would, opens each dashboard of
superset/dashboards.py, waits until no chart is loading any more, and fails when a chart shows an
error or renders nothing. Writes one PNG per dashboard and a JSON report of what it saw.

Runs in the bi environment (`make screenshots` for the demo stack):
    python superset/screenshots.py --out DIR [--username U] [--slug S ...]
The password comes from the environment (CUR_SCREENSHOT_PASSWORD), else from the settings (the
admin's) or the file superset/roles.py generated for that user, never from the command line, where
`ps` would show it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# This folder, not the installed `superset` package: run as a script, it is first on sys.path;
# roles puts the repository on it too (for `cur`).
import dashboards
import roles

from cur import settings as cur_settings

CHROMIUM = "/usr/bin/chromium"
HOLDER = "[data-test='dashboard-component-chart-holder']"
# What Superset draws while a chart loads, and when it fails (ErrorAlert / the chart's error box).
LOADING = ".loading, [aria-label='Loading'], [data-test='loading-indicator']"
ERROR = "[data-test='chart-error'], [data-test='error-alert'], .alert-danger, [role='alert']"
DRAWN = "canvas, svg, table, .superset-legacy-chart-big-number, [data-test='big-number'], .header-line"


@dataclass
class DashboardSeen:
    slug: str
    title: str
    charts_expected: int
    charts_seen: int = 0
    errors: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    seconds: float = 0.0
    screenshot: str = ""


def _chart_states(page: object) -> list[dict[str, object]]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        HOLDER,
        """(holders, [loading, error, drawn]) => holders.map(h => ({
            title: (h.querySelector("[data-test='editable-title'], .header-title, .chart-header") || {}).innerText
                || "",
            loading: !!h.querySelector(loading),
            error: (h.querySelector(error) || {}).innerText || "",
            drawn: !!h.querySelector(drawn),
        }))""",
        [LOADING, ERROR, DRAWN],
    )


def _log_in(page: Any, url: str, username: str, password: str, timeout_s: float, tries: int = 3) -> None:
    """Fill and submit the login form, again if the page stays on it: the form is React's, and a submit
    made while it was still being rendered under load was lost (no POST reached Superset)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, tries + 1):
        page.goto(url)
        page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
        page.fill("input[name='username'], #username", username)
        page.fill("input[name='password'], #password", password)
        page.click("[data-test='login-button'], button[type='submit'], input[type='submit']")
        try:
            page.wait_for_url(lambda u: "/login" not in u, timeout=timeout_s * 1000 / tries)
            return
        except PlaywrightTimeout:
            if attempt == tries:
                raise
            print(f"still on the login page after try {attempt} of {tries}; again", file=sys.stderr)


def capture(base_url: str, username: str, password: str, out: Path, slugs: list[str], timeout_s: float = 120) -> list:
    """Logs in, then for each slug: open, wait for every chart, screenshot; returns what it saw."""
    from playwright.sync_api import sync_playwright

    by_slug = {d.slug: d for d in dashboards.DASHBOARDS}
    out.mkdir(parents=True, exist_ok=True)
    seen: list[DashboardSeen] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        # Tall enough that every chart is in view: Superset renders charts only once they are.
        context = browser.new_context(viewport={"width": 1600, "height": 2600}, locale="ru-RU")
        page = context.new_page()
        _log_in(page, f"{base_url}/login/", username, password, timeout_s)
        for slug in slugs:
            dashboard = by_slug[slug]
            report = DashboardSeen(slug, dashboard.title, len(dashboard.charts))
            started = time.monotonic()
            page.goto(f"{base_url}/superset/dashboard/{slug}/?standalone=1")
            page.wait_for_selector(HOLDER, timeout=timeout_s * 1000)
            deadline = started + timeout_s
            states = _chart_states(page)
            while time.monotonic() < deadline:
                states = _chart_states(page)
                settled = all(s["error"] or (s["drawn"] and not s["loading"]) for s in states)
                if len(states) >= report.charts_expected and settled:
                    break
                time.sleep(0.5)
            page.wait_for_timeout(1500)  # animations (ECharts, deck.gl tiles) finish drawing
            states = _chart_states(page)
            report.seconds = round(time.monotonic() - started, 1)
            report.charts_seen = len(states)
            report.errors = [f"{s['title']}: {s['error']}" for s in states if s["error"]]
            report.empty = [str(s["title"]) for s in states if not s["error"] and (s["loading"] or not s["drawn"])]
            path = out / f"{slug}.png"
            page.screenshot(path=str(path), full_page=True)
            report.screenshot = str(path)
            seen.append(report)
        browser.close()
    (out / "report.json").write_text(
        json.dumps([asdict(r) for r in seen], ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return seen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs and report.json")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--slug", action="append", help="only this dashboard (repeatable)")
    args = parser.parse_args(argv)
    settings = cur_settings.load()
    password = os.environ.get("CUR_SCREENSHOT_PASSWORD")
    if not password:
        # The admin's of the settings, or the generated one of a user of superset/roles.py.
        path = None if args.username == "admin" else roles.password_file(settings, args.username)
        password = path.read_text(encoding="utf-8").strip() if path else settings.superset_admin_password
    slugs = args.slug or [d.slug for d in dashboards.DASHBOARDS]
    seen = capture(f"http://127.0.0.1:{settings.superset_port}", args.username, password, args.out, slugs)
    failed = False
    for report in seen:
        status = (
            "ok"
            if not report.errors and not report.empty and report.charts_seen == report.charts_expected
            else "FAILED"
        )
        failed |= status != "ok"
        print(
            f"{status:6} {report.title}: {report.charts_seen}/{report.charts_expected} charts in {report.seconds}s"
            f" -> {report.screenshot}"
        )
        for line in report.errors + [f"{title}: nothing drawn" for title in report.empty]:
            print(f"       {line}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
