"""Mounts the slack adapter on the server (placeholder until the adapter lands)."""

from aiohttp import web


def mount(app: web.Application) -> str | None:
    return None
