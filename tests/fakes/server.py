"""Starting a fake platform's aiohttp app on a local port, the same way for every fake."""

from __future__ import annotations

from aiohttp import web


async def serve_locally(app: web.Application, port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 (any free port unless one is given); the runner and base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{bound}"


UPLOAD_MAX = 64 * 1024 * 1024  # fakes taking file uploads read bodies this large (aiohttp's default is 1 MB)
