"""HTML templates → PDF: Jinja2 in its sandbox, WeasyPrint with a URL fetcher locked to the templates.

- Templates are rendered by ``jinja2.sandbox.SandboxedEnvironment`` with autoescape on, so an
  admin's template can read the document it is given and nothing else (no attribute tricks into
  Python), and a customer name with ``<`` in it is text, not markup.
- The loader looks in the override folder first, then in the shipped folder, one file at a time.
- A template that does not parse or fails while rendering raises ``TemplateBroken`` naming the
  file and the line.
- WeasyPrint fetches stylesheets and images only through ``LockedFetcher``: ``file:`` URLs inside
  the two template folders and ``data:`` URLs; anything else (another local file, ``http(s)``)
  stops the rendering with ``ResourceRefused``: a template must not read the server's files or
  reach into the network.
- Chinese is drawn with the Noto Sans CJK SC font named in ``style.css`` (Debian's
  ``fonts-noto-cjk``), and the document's ``lang`` is the reader's.
"""

from __future__ import annotations

import traceback
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from bot import labels
from bot.i18n import Translator
from core.documents.errors import ResourceRefused, TemplateBroken, TemplateMissing

SHIPPED = Path(__file__).resolve().parent / "templates"


def locked_fetcher(roots: list[Path]) -> Any:
    """A WeasyPrint URL fetcher that serves files inside ``roots`` (the first root wins for a
    name both hold) and ``data:`` URLs; any other URL stops the rendering."""
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    resolved = [root.resolve() for root in roots]

    class Refusal(FatalURLFetchingError):
        def __init__(self, url: str) -> None:
            super().__init__(url)
            self.url = url

    class LockedFetcher(URLFetcher):
        refusal = Refusal

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, fail_on_errors=False)

        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            scheme = parsed.scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme != "file" or parsed.netloc not in ("", "localhost"):
                raise Refusal(url)
            path = Path(unquote(parsed.path)).resolve()
            for root in resolved:
                if path.is_relative_to(root):
                    relative = path.relative_to(root)
                    for folder in resolved:  # the same name in the override folder wins
                        candidate = (folder / relative).resolve()
                        if candidate.is_relative_to(folder) and candidate.is_file():
                            return super().fetch(candidate.as_uri(), headers)
            raise Refusal(url)

    return LockedFetcher()


class Printer:
    """Renders the named template for one reader; ``template_dir`` is the admin's override folder."""

    def __init__(self, template_dir: Path | str | None, *, locale: str, timezone: str) -> None:
        self.override = Path(template_dir) if template_dir else None
        self._ = Translator(locale)
        self.locale = self._.locale
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        searched = [str(d) for d in self.roots]
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(searched),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(_=self._, lang="zh-CN" if self.locale == "zh-CN" else "en")
        self.env.filters.update(
            money=_money,
            local=self.local,
            day=_day,
            status=lambda v: labels.status(self._, str(v)),
            payment=lambda v: labels.payment(self._, str(v)),
            carrier=lambda v: labels.carrier_name(self._, str(v)),
        )

    @property
    def roots(self) -> list[Path]:
        return [self.override, SHIPPED] if self.override is not None and self.override.is_dir() else [SHIPPED]

    def local(self, at: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return at.astimezone(self.zone).strftime(fmt)

    def html(self, name: str, **context: Any) -> str:
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound as missing:
            raise TemplateMissing(file=str(missing.name)) from None
        except jinja2.TemplateSyntaxError as error:
            raise TemplateBroken(
                file=self._shown(error.filename or error.name or name), line=error.lineno, problem=error.message or ""
            ) from None
        try:
            return template.render(**context)
        except jinja2.TemplateError as error:  # undefined names, sandbox refusals, bad filters
            file, line = self._where(error, template.filename or name)
            raise TemplateBroken(file=file, line=line, problem=str(error)) from None
        except (TypeError, ValueError, AttributeError, ArithmeticError) as error:
            file, line = self._where(error, template.filename or name)
            raise TemplateBroken(file=file, line=line, problem=f"{type(error).__name__}: {error}") from None

    def pdf(self, name: str, **context: Any) -> bytes:
        from weasyprint import HTML

        page = self.html(name, **context)
        fetcher = locked_fetcher(self.roots)
        base = (self.roots[0] / "_").as_uri()[: -len("_")]  # relative URLs resolve in the first folder
        try:
            return HTML(string=page, base_url=base, url_fetcher=fetcher).write_pdf()
        except fetcher.refusal as refused:
            raise ResourceRefused(file=name, url=refused.url) from None

    def _where(self, error: BaseException, fallback: str) -> tuple[str, int]:
        """The template file and line a rendering error happened on (Jinja maps its frames back)."""
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith((".html", ".css"))]
        if frames:
            return self._shown(frames[-1].filename), frames[-1].lineno or 0
        return self._shown(fallback), getattr(error, "lineno", None) or 0

    def _shown(self, filename: str) -> str:
        """An override is named by its full path (the admin's file); a shipped one by its name."""
        path = Path(filename)
        return str(path) if self.override is not None and path.is_relative_to(self.override) else path.name


def _money(value: Decimal | str | int) -> str:
    return labels.money(Decimal(str(value)))


def _day(value: date | datetime) -> str:
    return value.strftime("%Y-%m-%d")
