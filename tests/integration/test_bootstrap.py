"""``bootstrap`` builds the whole server from the settings alone, as ``oms serve`` runs it."""

from __future__ import annotations

from pathlib import Path

import integrations
from bot.wiring import WorkflowRules
from integrations.bootstrap import MOUNTS, bootstrap
from integrations.web.app import SERVICES
from tests.support.databases import sqlite_settings


def routes(app) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


async def test_bootstrap_builds_services_from_the_settings_and_mounts_everything(tmp_path) -> None:
    settings = sqlite_settings(tmp_path / "oms.db", console_mode="open")
    app, enabled = bootstrap(settings)
    services = app[SERVICES]
    try:
        assert services.settings is settings
        assert isinstance(services.review_policy, WorkflowRules)  # the chat layer's rules decide review
        assert enabled == ["api", "console"]  # no platform settings given: only the REST API and the console
        assert {"/healthz", "/console", "/webhooks/channels/{code}", "/webhooks/carriers/{provider}"} <= routes(app)
        assert {"/api/v1/openapi.json", "/api/v1/orders", "/api/v1/orders/{order_no}", "/api/docs"} <= routes(app)
    finally:
        await services.close()


async def test_a_platform_in_the_settings_switches_its_adapter_on(tmp_path) -> None:
    settings = sqlite_settings(tmp_path / "oms.db", console_mode="off", telegram_bot_token="123:abc")
    app, enabled = bootstrap(settings)
    try:
        assert enabled == ["api", "telegram"]
        assert "/console" not in routes(app)
    finally:
        await app[SERVICES].close()


def test_every_adapter_package_is_mounted() -> None:
    """A new platform package (one with an ``adapter.py``) left out of ``MOUNTS`` would never run."""
    platforms = {path.parent.name for path in Path(integrations.__file__).parent.glob("*/adapter.py")}
    mounted = {mount.__module__.split(".")[1] for mount in MOUNTS}
    assert platforms | {"api", "console", "channels", "carriers", "webhooks", "web"} == mounted


async def test_the_webhook_client_joins_the_outbox(tmp_path) -> None:
    from integrations.web.outbox import CLIENTS

    app, _ = bootstrap(sqlite_settings(tmp_path / "oms.db", console_mode="off"))
    try:
        assert "webhook" in {client.platform for client in app[CLIENTS]}
    finally:
        await app[SERVICES].close()
