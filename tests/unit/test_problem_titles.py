"""A problem's title is its status's reason phrase, in the reader's language as its detail is."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp.test_utils import make_mocked_request

from core.errors import OrderNotFound
from integrations.api.problems import TITLES, body


def test_the_english_titles_are_the_http_reason_phrases():
    # English clients see what they saw before the titles were translated
    assert TITLES == {status: HTTPStatus(status).phrase for status in TITLES}


def test_a_title_follows_accept_language():
    error = OrderNotFound(order_no="SO-1")
    chinese = body(make_mocked_request("GET", "/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}), error)
    english = body(make_mocked_request("GET", "/", headers={"Accept-Language": "en-GB"}), error)
    assert (chinese["status"], chinese["title"]) == (404, "未找到") and "SO-1" in chinese["detail"]
    assert (english["status"], english["title"]) == (404, "Not Found")
