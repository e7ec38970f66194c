"""/report in chat: a PNG chart with the figures as its caption, in English and Chinese; /report stalls as before."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import update

from bot.conversation import Identity, answer_text, who
from core.users.models import User
from tests.support.report_orders import add_non_sales, build


async def _ask(services, name: str, text: str, locale: str = "en"):
    async with services.sessions() as session, session.begin():
        await session.execute(update(User).where(User.name == name).values(locale=locale))
    speaker = await who(services, Identity("console", name))
    assert speaker is not None
    return await answer_text(services, speaker, "console", text)


def _image(reply) -> Image.Image:
    attachment = reply.attachment
    assert attachment is not None and attachment.kind == "image" and attachment.media_type == "image/png"
    assert attachment.data.startswith(b"\x89PNG\r\n\x1a\n") and attachment.filename.endswith(".png")
    return Image.open(io.BytesIO(attachment.data))


async def test_report_today_answers_with_a_chart_and_the_figures(services):
    await build(services)
    [reply] = await _ask(services, "经理", "/report")
    assert _image(reply).size == (900, 480)
    assert reply.attachment.filename == "sales-today-2026-11-20.png"
    lines = reply.text.splitlines()
    assert lines[0] == "Today: 2 orders, sales 668.20, average 334.10"
    assert lines[1] == "Gross margin 191.20 (51.5%)"
    assert lines[2] == "Without a product cost (margin unknown): 297.00 of sales"
    assert len(lines) == 3  # no return among today's orders


async def test_report_by_region_in_chinese(services):
    await build(services)
    [reply] = await _ask(services, "经理", "/报表 7天 按 地区", "zh-CN")
    _image(reply)
    assert reply.attachment.filename == "sales-7d-by-region-2026-11-20.png"
    assert reply.text.splitlines()[0].startswith("近 7 天：3 单，销售额 848.20")
    assert "按地区：浙江 436.00 · 广东 412.20" in reply.text
    assert "退货：3 单中 1 单（33.3%）" in reply.text


@pytest.mark.parametrize(
    "command, heading",
    [
        ("/report 30d by channel", "By channel: direct sales 536.00 · shopify 412.20"),
        ("/report today by sales", "By salesperson: no salesperson 412.20 · 李雷 256.00"),
        ("/report today line", "By product line: 茶叶 371.20 · no product line 297.00"),
        ("/报表 今天 按产品线", "By product line: 茶叶 371.20"),
    ],
)
async def test_report_breakdowns(services, command, heading):
    await build(services)
    [reply] = await _ask(services, "经理", command)
    _image(reply)
    assert heading in reply.text


@pytest.mark.parametrize("command", ["/report yesterday", "/report today by colour", "/report 7d by", "/report 7d x y"])
async def test_a_report_typed_wrong_gets_the_usage(services, command):
    await build(services)
    [reply] = await _ask(services, "经理", command)
    assert reply.attachment is None
    assert reply.text == (
        "Usage: /report today|7d|30d|YYYY-MM-DD..YYYY-MM-DD [by line|region|sales|channel] | stalls [days]"
    )


async def test_stalls_and_permissions_are_as_before(services):
    await build(services)
    [stalls] = await _ask(services, "经理", "/report stalls")
    assert stalls.attachment is None and stalls.text.startswith("Where orders waited, last 7 days")
    [refused] = await _ask(services, "李雷", "/report 7d")
    assert refused.attachment is None and refused.text == "You may not view reports."


async def test_help_lists_the_new_usage(services):
    await build(services)
    [reply] = await _ask(services, "经理", "/help", "zh-CN")
    assert (
        "/report today|7d|30d|YYYY-MM-DD..YYYY-MM-DD [按 产品线|地区|销售|渠道] | stalls [天数] (/报表)" in reply.text
    )


async def test_report_over_a_date_range(services):
    await build(services)
    await add_non_sales(services)  # not sales: the figures are as without them
    [reply] = await _ask(services, "经理", "/report 2026-11-13..2026-11-20 by region")
    _image(reply)
    assert reply.attachment.filename == "sales-2026-11-13..2026-11-20-by-region.png"
    assert reply.text.splitlines()[0] == "2026-11-13 – 2026-11-20: 3 orders, sales 848.20, average 282.73"
    assert "By region: 浙江 436.00 · 广东 412.20" in reply.text
    [chinese] = await _ask(services, "经理", "/报表 2026-11-19..2026-11-19", "zh-CN")
    assert chinese.text.splitlines()[0].startswith("2026-11-19 – 2026-11-19：1 单，销售额 180.00")


@pytest.mark.parametrize(
    "command, locale, text",
    [
        (
            "/report 2026-11-30..2026-11-01",
            "en",
            "The report's date range 2026-11-30 to 2026-11-01 is empty or longer than ten years.",
        ),
        ("/报表 2026-11-30..2026-11-01 按 地区", "zh-CN", "报表日期范围 2026-11-30 至 2026-11-01"),
        ("/report 2026-02-30..2026-03-01", "en", "Unknown report period 2026-02-30..2026-03-01"),
    ],
)
async def test_a_bad_date_range_is_refused_in_the_readers_language(services, command, locale, text):
    await build(services)
    [reply] = await _ask(services, "经理", command, locale)
    assert reply.attachment is None and text in reply.text
