"""Images and files on the console: the timeline names them, the page shows an image inline and a
file as a download, and only the person they were sent to can fetch the bytes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.delivery import tell
from bot.router import COMMANDS, Chat, Command
from bot.views import Attachment, Reply
from core.auth import Actor
from core.users.models import User
from tests.e2e.test_console_browser import LIVE_TIMEOUT_MS, browser, console, open_as  # noqa: F401  (fixtures)
from tests.support.databases import make_services, sqlite_settings
from tests.support.images import png

CHART = Attachment(filename="今日销售.png", media_type="image/png", data=png(120, 80), kind="image")
PDF = Attachment(filename="pick list SH.pdf", media_type="application/pdf", data=b"%PDF-1.7\n" + bytes(5000))
SVG = Attachment(filename="x.svg", media_type="image/svg+xml", data=b"<svg onload='alert(1)'/>", kind="image")


async def _send_test(chat: Chat, args: list[str]) -> list[Reply]:
    attachment = {"image": CHART, "file": PDF, "svg": SVG}[args[0]]
    return [Reply(text=f"Here: {attachment.filename}", attachment=attachment)]


@pytest.fixture
def sendtest() -> Iterator[None]:
    COMMANDS["sendtest"] = Command("sendtest", (), "/sendtest KIND", None, _send_test)
    yield
    COMMANDS.pop("sendtest", None)


async def test_the_timeline_names_the_image_and_its_owner_fetches_it_inline(console_app, sendtest):
    chat, _services = console_app
    assert await chat.say("wangfang", "/sendtest image") == ["Here: 今日销售.png"]
    [entry] = [e for e in await chat.inbox("wangfang") if e["attachment"]]
    assert entry["text"] == "Here: 今日销售.png"
    assert entry["attachment"] | {"url": None} == {
        "filename": "今日销售.png",
        "media_type": "image/png",
        "kind": "image",
        "size": len(CHART.data),
        "url": None,
    }
    response = await chat.client.get(entry["attachment"]["url"], params={"user": "wangfang"})
    assert response.status == 200 and await response.read() == CHART.data
    assert response.content_type == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline; filename*=UTF-8''%E4%BB%8A")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_file_and_anything_not_a_plain_image_is_a_download(console_app, sendtest):
    chat, _services = console_app
    await chat.say("wangfang", "/sendtest file")
    await chat.say("wangfang", "/sendtest svg")
    pdf, svg = [e["attachment"] for e in await chat.inbox("wangfang") if e["attachment"]]
    response = await chat.client.get(pdf["url"], params={"user": "wangfang"})
    assert await response.read() == PDF.data and response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''pick%20list%20SH.pdf"
    response = await chat.client.get(svg["url"], params={"user": "wangfang"})
    assert response.headers["Content-Disposition"].startswith("attachment;")  # an SVG could run script inline


async def test_nobody_else_can_fetch_it(console_app, sendtest):
    chat, _services = console_app
    await chat.say("wangfang", "/sendtest image")
    [entry] = [e for e in await chat.inbox("wangfang") if e["attachment"]]
    other = await chat.client.get(entry["attachment"]["url"], params={"user": "lilei"})
    assert other.status == 404 and "attachment" in (await other.json())["error"]
    nobody = await chat.client.get(entry["attachment"]["url"])
    assert nobody.status == 400  # open mode: the request must name who it speaks for
    missing = await chat.client.get("/console/api/attachments/999999", params={"user": "wangfang"})
    assert missing.status == 404


def _push_chart(db: Path) -> None:
    """What a digest does: put a captioned chart on a person's console timeline, from another
    process's point of view (the server only reads the shared database)."""

    async def push() -> None:
        services = await make_services(sqlite_settings(db))
        try:
            async with services.unit_of_work(Actor.system("test")) as ctx:
                by_name = select(User).where(User.name == "赵经理").options(selectinload(User.identities))
                users = list(await ctx.session.scalars(by_name))
                tell(ctx, users, "Sales today", attachment=CHART, platforms={"console"})
        finally:
            await services.close()

    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(push())
        except BaseException as error:  # noqa: BLE001  (reported on the test's thread)
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def test_the_console_shows_a_pushed_chart_inline_live(browser, console, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    errors: list[str] = []
    contexts = []
    try:
        page = open_as(browser, contexts, console, "zhaojl", errors)
        _push_chart(tmp_path / "demo.db")
        image = page.get_by_test_id("attachment-image")
        expect(image).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        expect(image).to_have_attribute("alt", "今日销售.png")
        page.wait_for_function(
            "() => { const i = document.querySelector('[data-testid=attachment-image]');"
            " return i && i.complete && i.naturalWidth > 0; }",
            timeout=LIVE_TIMEOUT_MS,
        )
        assert page.get_by_test_id("attachment-image").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [120, 80]
        entry = page.locator("[data-entry-id]").filter(has=image)
        expect(entry).to_contain_text("Sales today")
        assert page.evaluate("window.__notReloaded === true")
        page.screenshot(path=str(tmp_path / "console-chart.png"), full_page=True)
        assert errors == []
    finally:
        for context in contexts:
            context.close()
