"""The console's perimeter: which hosts it answers, which requests may change anything, and the
headers that keep its pages out of other sites' frames and scripts.

A browser lets any web page send a ``text/plain`` form POST to ``http://127.0.0.1:8080``, and DNS
rebinding lets a page make its own host name point at the server; neither can forge ``Origin``
nor send ``application/json`` cross-site without a CORS preflight, which this server never
grants. So a state-changing console request must be JSON with a same-origin ``Origin`` (when the
browser sends one), and the ``Host`` must be a loopback name or the public URL's host. Platform
callbacks are outside ``/console`` and answer whatever host the platform uses.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

PREFIX = "/console"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.x.y.z`` or ``::1`` (a name or an address, without its port)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _hostname(host_header: str) -> str:
    """The host part of a ``Host`` header: ``[::1]:8080`` → ``::1``, ``a.b:80`` → ``a.b``."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _refuse(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}), content_type="application/json")


def _console(request: web.Request) -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: before the headers leave, streams and errors included."""
    if _console(request):
        response.headers.update(HEADERS)


def guard(public_url: str | None) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware for ``/console``; everything else passes untouched."""
    public_host = (urlsplit(public_url).hostname or "").lower() if public_url else None
    public_origin = _origin(public_url) if public_url else None

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        if not _console(request):
            return await handler(request)
        host = _hostname(request.headers.get("Host", "")).lower()
        if not (is_loopback(host) or (public_host and host == public_host)):
            return _refuse(421, "This console does not answer for that host name.")
        if request.method not in SAFE_METHODS:
            if request.content_type != "application/json":
                return _refuse(415, "Console requests that change something must be application/json.")
            origin = request.headers.get("Origin")
            own = {_origin(f"{request.scheme}://{request.host}"), public_origin}
            if origin is not None and origin.lower() not in own:
                return _refuse(403, "Cross-site request refused.")
        return await handler(request)

    return middleware
