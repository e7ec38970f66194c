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
