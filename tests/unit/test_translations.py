"""The zh-CN catalog covers every chat string, keeps its placeholders, and is not stale.

Pure and fast: reads ``.po``/``.pot`` files with Babel and re-extracts the template into a temp file.
"""

from __future__ import annotations

import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n import translate

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "bot" / "locales"
TEMPLATE = LOCALES / "messages.pot"
ZH_CN = LOCALES / "zh_CN" / "LC_MESSAGES" / "messages.po"
# The same keywords as the documented extraction command (tell's message is its 3rd argument,
# translate's its 2nd).
EXTRACT_ARGS = [
    "extract",
    "-F",
    "babel.cfg",
    "-k",
    "_",
    "-k",
    "N_",
    "-k",
    "say",
    "-k",
    "tell:3",
    "-k",
    "translate:2",
    "--no-location",
    "--omit-header",
]


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def ids(catalog: Catalog) -> set[str]:
    return {str(message.id) for message in catalog if message.id}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@pytest.fixture(scope="module")
def zh() -> Catalog:
    return load(ZH_CN, "zh_CN")


def test_every_template_message_is_translated(zh):
    template = ids(load(TEMPLATE))
    assert template, "the template is empty"
    translated = {str(m.id) for m in zh if m.id and m.string and str(m.string).strip() and not m.fuzzy}
    assert sorted(template - translated) == []


def test_no_entry_is_fuzzy(zh):
    assert [str(m.id) for m in zh if m.id and m.fuzzy] == []


def test_translations_keep_the_placeholders(zh):
    wrong = {
        str(m.id): str(m.string)
        for m in zh
        if m.id and m.string and placeholders(str(m.id)) != placeholders(str(m.string))
    }
    assert wrong == {}


def test_translate_uses_the_catalog():
    assert translate("zh-CN", "Approve") == "批准"
    assert translate("zh_CN", "Reject") == "驳回"
    assert translate("en", "Approve") == "Approve"
    assert translate("zh-CN", "Approval needed: {order_no}", order_no="SO-1") == "待审批：SO-1"
    assert translate("en", "Approval needed: {order_no}", order_no="SO-1") == "Approval needed: SO-1"


def test_catalog_is_not_stale(tmp_path, zh):
    """Strings added to the code since the last extraction must be in the zh_CN catalog too."""
    fresh = tmp_path / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *EXTRACT_ARGS, "-o", str(fresh), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    extracted = ids(load(fresh))
    assert extracted, "the extraction found no messages"
    missing = extracted - ids(zh)
    assert sorted(missing) == [], "run the extract command, then `pybabel update` and translate the new strings"
