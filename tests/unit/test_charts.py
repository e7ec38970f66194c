"""Charts draw Chinese with Noto Sans CJK SC, not as boxes; without the font they still draw and say why.

The tofu check: two different Chinese strings rendered with a font that lacks the glyphs come out
as identical boxes, so their images are equal; with the CJK font they differ. DejaVu Sans (no
Chinese) is the control that shows the check can fail.
"""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import pytest
from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from PIL import Image

from bot import charts

CHINESE = "产品线地区销售渠道广东浙江今日报表"


def _text_image(text: str, family: list[str]) -> tuple[np.ndarray, list[str]]:
    """``text`` drawn alone; the pixels and any warnings matplotlib gave while drawing."""
    with warnings.catch_warnings(record=True) as caught, rc_context({"font.family": family}):
        warnings.simplefilter("always")
        figure = Figure(figsize=(2, 0.6), dpi=100)
        figure.text(0.05, 0.3, text, fontsize=14)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    pixels = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    return pixels, [str(w.message) for w in caught]


def test_the_chart_font_is_the_simplified_chinese_face_of_noto_sans_cjk():
    font = charts.chart_font()
    assert font.family == "Noto Sans CJK SC"
    assert font.path and "NotoSansCJK" in font.path
    face = FT2Font(font.path)  # the first face of the .ttc; every CJK face covers these ideographs
    assert all(face.get_char_index(ord(c)) for c in CHINESE)
    # What matplotlib resolves the charts' family list to, for the text it lays out:
    with rc_context(charts.style()):
        assert font_manager.findfont(font_manager.FontProperties()) == font.path


def test_a_chart_with_chinese_labels_draws_every_glyph_with_the_cjk_font():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.bars(
            "今日销售 · 按地区", ["广东", "浙江", "上海"], [412.2, 256, 0], subtitle="2026-11-20", horizontal=True
        )
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == (900, 480)


def test_chinese_with_the_cjk_font_is_not_tofu_and_the_control_is():
    cjk = ["Noto Sans CJK SC", "DejaVu Sans"]
    one, warned = _text_image("广东销售", cjk)
    other, _ = _text_image("浙江渠道", cjk)
    assert warned == [] and not np.array_equal(one, other)  # real glyphs: different strings, different ink
    tofu_one, tofu_warned = _text_image("广东销售", ["DejaVu Sans"])
    tofu_other, _ = _text_image("浙江渠道", ["DejaVu Sans"])
    assert any("missing from font" in w for w in tofu_warned)
    assert np.array_equal(tofu_one, tofu_other)  # boxes: every string of four looks the same


def test_without_the_font_charts_still_draw_and_the_log_says_what_to_install(monkeypatch, caplog):
    monkeypatch.setattr(charts, "_find", lambda family: None)
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    charts.chart_font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.charts"):
            font = charts.chart_font()
            png = charts.bars("Sales", ["a", "b"], [1, 2])
        assert font == charts.ChartFont("DejaVu Sans", None)
        assert "Noto Sans CJK SC is not installed" in caplog.text and "fonts-noto-cjk" in caplog.text
        assert png.startswith(b"\x89PNG")
    finally:
        charts.chart_font.cache_clear()


def test_an_empty_chart_says_so():
    png = charts.bars("近 7 天", [], [], empty="没有订单")
    assert png.startswith(b"\x89PNG")


@pytest.mark.parametrize("count", [7, 30])
def test_a_daily_series_draws(count):
    labels = [f"11-{d:02d}" for d in range(1, count + 1)]
    assert charts.bars("近 30 天销售额", labels, list(range(count))).startswith(b"\x89PNG")
