"""The dashboard in a real browser: opened from a chat-style sign-in link, its figures equal to the
database's, in both languages, live when an order arrives, drilling down, and usable on a phone.
Screenshots (English, Chinese, phone) are written to the test's folder."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.test_console_browser import (  # noqa: F401  (fixtures)
    LIVE_TIMEOUT_MS,
    OMS,
    browser,
    signin_console,
)


def todays_sales(db: Path) -> tuple[int, Decimal]:
    """Orders and sales of today in Shanghai, straight from the table (not through the reports):
    accepted goods orders, those not accepted yet, refused or cancelled and contracts left out."""
    start = datetime.combine(datetime.now(ZoneInfo("Asia/Shanghai")).date(), time.min, ZoneInfo("Asia/Shanghai"))
    since = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(db) as connection:
        count, total = connection.execute(
            "SELECT count(*), total(total) FROM sales_order"
            " WHERE created_at >= ? AND kind = 'standard' AND status NOT IN"
            " ('received', 'on_hold', 'pending_approval', 'cancelled', 'rejected')",
            (since,),
        ).fetchone()
    return count, Decimal(str(total)).quantize(Decimal("0.01"))


def test_a_manager_opens_the_live_dashboard_from_a_link(browser, signin_console, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    base_url, env = signin_console
    db = Path(env["OMS_DATABASE_URL"].split("///", 1)[1])
    link = subprocess.run([OMS, "console", "link", "zhaojl"], env=env, capture_output=True, text=True, check=True)
    url = link.stdout.strip().replace("http://127.0.0.1:8080", base_url) + "&next=dashboard"
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: m.type == "error" and "401" not in m.text and problems.append(m.text))

        # The link (as /dashboard sends it) signs 赵经理 in and opens the dashboard
        page.goto(url)
        page.get_by_test_id("signin-button").click()
        page.wait_for_url(f"{base_url}/console/dashboard", timeout=LIVE_TIMEOUT_MS)
        expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=LIVE_TIMEOUT_MS)
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT_MS)

        # Its figures are the database's
        orders, sales = todays_sales(db)
        assert orders > 0
        expect(page.locator("#kpi-orders")).to_have_attribute("data-value", str(orders))
        assert Decimal(page.locator("#kpi-sales").get_attribute("data-value")) == sales

        # In Chinese (the manager's language) and in English, each screenshotted
        expect(page.locator(".brand__name")).to_have_text("OMS 看板")
        expect(page.get_by_test_id("pie")).to_contain_text("绿茶")
        page.screenshot(path=str(tmp_path / "dashboard-zh.png"), full_page=True)
        page.get_by_test_id("lang-en").click()
        expect(page.locator(".brand__name")).to_have_text("OMS Dashboard")
        expect(page.locator("#h-lines")).to_have_text("Sales by product line")
        page.screenshot(path=str(tmp_path / "dashboard-en.png"), full_page=True)
        page.evaluate("window.__notReloaded = true")

        # Live: an order placed elsewhere (the CLI) shows up without a reload
        subprocess.run(
            [OMS, "order", "place", "C001", "TEA-001*3", "--pay", "credit"], env=env, check=True, capture_output=True
        )
        orders_now, sales_now = todays_sales(db)
        assert orders_now == orders + 1
        expect(page.locator("#kpi-orders")).to_have_attribute("data-value", str(orders_now), timeout=LIVE_TIMEOUT_MS)
        assert Decimal(page.locator("#kpi-sales").get_attribute("data-value")) == sales_now
        assert page.evaluate("window.__notReloaded === true"), "the page reloaded"

        # A slice of the pie drills down to the orders behind it
        first = page.get_by_test_id("pie-item").first
        first.click()
        drill = page.get_by_test_id("drill")
        expect(drill).to_be_visible()
        expect(drill.get_by_test_id("drill-row").first).to_be_visible()
        assert all(
            no.startswith("SO-")
            for no in drill.get_by_test_id("drill-row").evaluate_all("r => r.map(n => n.dataset.order)")
        )
        assert problems == [], problems
    finally:
        context.close()

    # On a phone: one column, nothing wider than the screen
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    try:
        page = phone.new_page()
        link = subprocess.run([OMS, "console", "link", "zhaojl"], env=env, capture_output=True, text=True, check=True)
        page.goto(link.stdout.strip().replace("http://127.0.0.1:8080", base_url) + "&next=dashboard")
        page.get_by_test_id("signin-button").click()
        expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=LIVE_TIMEOUT_MS)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    finally:
        phone.close()
