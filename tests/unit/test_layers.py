"""Arrows point inward: core imports neither bot nor integrations; bot does not import integrations."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"core": ("bot", "integrations"), "bot": ("integrations",)}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_only_import_inward():
    offences = []
    for package, banned in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            for name in imported_modules(path):
                if name.split(".")[0] in banned:
                    offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []


def test_core_knows_no_chat_platform():
    words = ("dingtalk", "wecom", "slack", "telegram")
    offences = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in (ROOT / "core").rglob("*.py")
        for name in imported_modules(p)
        if any(w in name.lower() for w in words)
    ]
    assert offences == []


PLATFORMS = ("dingtalk", "wecom", "slack", "telegram")
# What an adapter may use of the rest: the neutral entry and the outbox's client protocol, the
# shared server, and the callback crypto DingTalk and WeCom share. Anything else is the chat
# layer's business, not a translator's.
ADAPTER_MAY_IMPORT = ("bot.gateway", "bot.outbox.clients", "integrations.web", "integrations.callback_crypto")


def test_adapters_only_translate():
    offences = []
    for platform in PLATFORMS:
        for path in (ROOT / "integrations" / platform).rglob("*.py"):
            for name in imported_modules(path):
                inside = name.split(".")[0] in ("bot", "core", "integrations")
                own = name.startswith(f"integrations.{platform}")
                if inside and not own and not name.startswith(ADAPTER_MAY_IMPORT) and name != "core.config":
                    offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []
