"""Charts as PNG bytes, drawn server-side with matplotlib's Agg backend and a named CJK font.

Chinese labels need a font with Chinese glyphs; matplotlib's default (DejaVu Sans) has none and
draws boxes. The chart font is **Noto Sans CJK SC** (Debian package ``fonts-noto-cjk``), named
explicitly: the same .ttc file holds JP, KR, TC and HK faces whose glyphs differ from mainland
forms. It is looked up in matplotlib's font list, then through fontconfig (``fc-match``) and added
by file, since a font installed after matplotlib built its cache is otherwise invisible. When it
is missing the chart is still drawn, with DejaVu Sans, and a warning names the package to install.

The text is handed in already translated; this module knows nothing of orders. Rendering is CPU
work (~80 ms a chart): ``render`` runs it on one worker thread, off the event loop. matplotlib is
imported on the first chart, not with the chat layer (it takes about a second to import).
"""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

CJK_FAMILY = "Noto Sans CJK SC"
FALLBACK_FAMILY = "DejaVu Sans"  # matplotlib's own; covers Latin, digits and U+2212
INSTALL_HINT = "apt-get install fonts-noto-cjk"
SIZE = (6.0, 3.2)  # inches: 900 x 480 pixels at DPI
DPI = 150
COLOUR = "#3b6ea5"
MAX_BARS = 12

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")


@dataclass(frozen=True)
class ChartFont:
    family: str  # the family the charts name first
    path: str | None  # its file; None when the CJK font is missing


@lru_cache(maxsize=1)
def chart_font() -> ChartFont:
    """Where Noto Sans CJK SC is, found once per process; DejaVu Sans (and a warning) without it."""
    _matplotlib()
    path = _find(CJK_FAMILY) or _add_from_fontconfig(CJK_FAMILY)
    if path is None:
        log.warning(
            "chart font %s is not installed: Chinese labels will be drawn as boxes (%s)", CJK_FAMILY, INSTALL_HINT
        )
        return ChartFont(FALLBACK_FAMILY, None)
    return ChartFont(CJK_FAMILY, path)


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; this module never imports pyplot
    return matplotlib


def _find(family: str) -> str | None:
    from matplotlib import font_manager

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    except ValueError:
        return None
    return str(path)


def _add_from_fontconfig(family: str) -> str | None:
    """Installed after matplotlib cached its font list: ask fontconfig for the file and add it."""
    if shutil.which("fc-match") is None:
        return None
    try:
        found = subprocess.run(
            ["fc-match", "--format=%{file}", f"{family}:style=Regular"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not found or "CJK" not in found:  # fc-match always answers something; only a CJK file will do
        return None
    from matplotlib import font_manager

    font_manager.fontManager.addfont(found)
    return _find(family)


def style() -> dict[str, Any]:
    """rc settings for every chart: a concrete family list (glyph fallback works only from
    ``font.family``, not from ``font.sans-serif``) and an ASCII minus."""
    font = chart_font()
    families = [font.family, FALLBACK_FAMILY] if font.path else [FALLBACK_FAMILY]
    return {"font.family": families, "axes.unicode_minus": False, "svg.fonttype": "none"}


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[Decimal | float | int],
    *,
    subtitle: str | None = None,
    horizontal: bool = False,
    empty: str = "",
) -> bytes:
    """A bar chart as PNG: columns over time (``horizontal=False``) or ranked groups (``True``,
    the largest on top; more than MAX_BARS are cut, the caller sums the rest into "other")."""
    _matplotlib()
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    numbers = [float(v) for v in values]
    with rc_context(style()):
        figure = Figure(figsize=SIZE, layout="constrained")
        axes = figure.add_subplot()
        figure.suptitle(title, fontsize=11, fontweight="bold")
        if subtitle:
            axes.set_title(subtitle, fontsize=8, color="#555555")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.tick_params(labelsize=7)
        if not numbers:
            axes.set_axis_off()
            axes.text(0.5, 0.5, empty, ha="center", va="center", fontsize=10, transform=axes.transAxes)
        elif horizontal:
            order = list(range(len(numbers)))[::-1]  # the first (largest) on top
            drawn = axes.barh([labels[i] for i in order], [numbers[i] for i in order], color=COLOUR)
            axes.bar_label(drawn, labels=[_number(numbers[i]) for i in order], fontsize=6, padding=2)
            axes.margins(x=0.15)
            axes.xaxis.set_major_formatter(lambda x, _pos: _number(x))
        else:
            drawn = axes.bar(list(labels), numbers, color=COLOUR)
            if len(numbers) <= 16:
                axes.bar_label(drawn, labels=[_number(n) for n in numbers], fontsize=6, padding=2)
            axes.margins(y=0.15)
            axes.yaxis.set_major_formatter(lambda y, _pos: _number(y))
            if len(labels) > 12:
                step = -(-len(labels) // 12)
                axes.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)])
        return _png(figure)


async def render(draw: Callable[..., bytes], *args: Any, **kwargs: Any) -> bytes:
    """Draw a chart on the chart thread, so the event loop keeps answering meanwhile."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, lambda: draw(*args, **kwargs))
