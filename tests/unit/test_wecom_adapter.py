"""The adapter switches itself on only with every WeCom setting present."""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web

from core.config import Settings
from integrations.web import outbox
from integrations.web.app import SERVICES
from integrations.wecom.adapter import PATH, mount
from tests.fakes import wecom


def app_with(**settings) -> web.Application:
    app = web.Application()
    app[SERVICES] = SimpleNamespace(settings=Settings(_env_file=None, **settings))
    return app


def test_off_without_settings_and_with_some_missing():
    for settings in ({}, {k: v for k, v in wecom.settings().items() if k != "wecom_secret"}):
        app = app_with(**settings)
        assert mount(app) is None
        assert not [r for r in app.router.routes() if r.resource and r.resource.canonical == PATH]
        assert not app.get(outbox.CLIENTS)


def test_on_with_every_setting():
    app = app_with(**wecom.settings())
    assert mount(app) == "wecom"
    assert {r.method for r in app.router.routes() if r.resource and r.resource.canonical == PATH} >= {"GET", "POST"}
    assert [c.platform for c in app[outbox.CLIENTS]] == ["wecom"]
