"""``/api/docs`` in a real Chromium: Swagger UI renders the OpenAPI document from the package's
own files, and the page asks nothing of any host but the server."""

from __future__ import annotations

from tests.e2e.test_console_browser import browser, console  # noqa: F401  (the same browser lane and server)


def test_the_api_docs_page_renders_every_route_and_the_events_offline(browser, console):  # noqa: F811
    page = browser.new_page()
    elsewhere: list[str] = []

    def only_here(route):
        if route.request.url.startswith(console):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    try:
        page.goto(f"{console}/api/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/v1/orders/{order_no}/approve" in " ".join(paths).replace("\u200b", ""), paths
        assert page.locator(".opblock").count() >= 18
        assert "order.status_changed" in page.locator(".information-container").inner_text()
        assert elsewhere == []
    finally:
        page.close()
