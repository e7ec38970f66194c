"""``POST /webhooks/carriers/{kuaidi100,aftership,standard}``: verify, store and work, then answer.

The signature is checked over the exact bytes received before anything else; a forged push gets
401 and leaves nothing but a log line. A verified push is stored (``carrier_push``, under the
provider's key: a repeat is answered and ignored) and worked in the SAME transaction: its scans
merge into the parcel's history and move the shipment. Unlike a channel's order, a push needs no
outside call and touches one shipment, so working it inline costs a few milliseconds and spares
an inbox, a worker and a second transaction; the ack still follows the commit, so nothing
acknowledged is lost. A scan for a tracking number we do not have yet is kept and adopted when
the shipment is made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from core.auth import Actor
from core.config import Settings
from core.errors import DatabaseUnavailable
from core.shipping import tracking
from integrations.carriers import aftership, kuaidi100, standard, subscribe
from integrations.carriers.wire import Forged, Malformed
from integrations.web import outbox
from integrations.web.app import SERVICES
from integrations.web.body import BadBody, read

log = logging.getLogger(__name__)

Verify = Callable[[web.Request, bytes, Settings], tracking.Push]
PROVIDERS: dict[str, tuple[Verify, bytes, str]] = {
    "kuaidi100": (
        lambda request, body, s: kuaidi100.verify(body, s.kuaidi100_salt),
        kuaidi100.ACK,
        "application/json",
    ),
    "aftership": (
        lambda request, body, s: aftership.verify(request.headers, body, s.aftership_webhook_secret),
        b'{"ok":true}',
        "application/json",
    ),
    "standard": (
        lambda request, body, s: standard.verify(request.headers, body, s.carrier_webhook_secret),
        b"",
        "text/plain",
    ),
}


async def receive(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    provider = request.match_info["provider"]
    if provider not in PROVIDERS:
        return web.json_response({"error": f"no carrier feed {provider}"}, status=404)
    verify, ack, content_type = PROVIDERS[provider]
    try:
        body = await read(request, max_bytes=services.settings.max_carrier_push_bytes)
    except BadBody as bad:
        return web.json_response({"error": bad.message}, status=bad.status)
    try:
        push = verify(request, body, services.settings)
    except Forged as forged:
        log.warning("carrier %s: refused a push from %s: %s", provider, request.remote, forged)
        return web.json_response({"error": "signature not valid"}, status=401)
    except Malformed as malformed:
        log.warning("carrier %s: a signed push we cannot read: %s", provider, malformed)
        return web.json_response({"error": f"not a {provider} push: {malformed}"}, status=400)
    try:
        outcome = await services.run(Actor.system(f"carrier:{provider}"), lambda ctx: tracking.take(ctx, push))
    except DatabaseUnavailable:
        return web.json_response({"error": "try again later"}, status=503)
    log.info("carrier %s %s %s: %s", provider, push.carrier, push.tracking_no, outcome)
    return web.Response(status=200, body=ack, content_type=content_type)


def mount(app: web.Application) -> None:
    """Not an adapter (returns no name): the routes are always there; a provider with no secret
    configured refuses every push. With an aggregator's key set, its subscriber joins the outbox
    (mounted after this), which subscribes every shipped parcel."""
    app.router.add_post("/webhooks/carriers/{provider}", receive)
    for client in subscribe.clients(app[SERVICES].settings):
        outbox.register(app, client)
