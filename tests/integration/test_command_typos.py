"""A typed command with a typo is answered with the command meant, in the reader's language."""

from __future__ import annotations

import pytest

from bot import gateway
from bot.gateway import Inbound
from tests.support.platforms import bind, demo_services


@pytest.mark.parametrize(
    ("platform", "text", "expected"),
    [
        ("slack", "/ordr SO-100001", "Unknown command /ordr. Did you mean /order?"),
        ("dingtalk", "/下担 C001 TEA-001*1", "未知命令 /下担。您是想输入 /下单 吗？"),
        ("slack", "/frobnicate", "Unknown command /frobnicate. Send /help to see what you can do."),
    ],
)
async def test_a_mistyped_command_is_answered_with_the_one_meant(tmp_path, platform, text, expected):
    services = await demo_services(tmp_path)
    await bind(services, platform, {"李雷": "U1"})

    answer = await gateway.message(services, Inbound(platform, "U1", "U1", "m1"), text)

    assert answer.texts == [expected]
    await services.close()
