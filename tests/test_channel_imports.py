"""A channel is handed the dialogue and the store by the `socialbot` command: it never builds the core,
never imports bot.dialogue, and never reaches into the dialogue's store (read by scanning the source)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHANNELS = sorted((Path(__file__).resolve().parent.parent / "bot" / "channels").glob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _reaches_into_the_dialogues_store(tree: ast.AST) -> list[int]:
    """Lines with `dialogue.store` or `x.dialogue.store` (getattr with a string included)."""
    def is_dialogue(node):
        return (isinstance(node, ast.Name) and node.id == "dialogue") or \
            (isinstance(node, ast.Attribute) and node.attr == "dialogue")

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "store" and is_dialogue(node.value):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and is_dialogue(node.args[0]) \
                and isinstance(node.args[1], ast.Constant) and node.args[1].value == "store":
            lines.append(node.lineno)
    return sorted(lines)


def test_there_are_channels_to_scan():
    assert {"telegram.py", "web.py", "console.py", "batch.py"} <= {p.name for p in CHANNELS}


@pytest.mark.parametrize("path", CHANNELS, ids=lambda p: p.name)
def test_no_channel_imports_the_dialogue(path):
    imported = _imports(ast.parse(path.read_text(encoding="utf-8")))
    assert not {name for name in imported if name == "bot.dialogue" or name.startswith("bot.dialogue.")}, path.name


@pytest.mark.parametrize("path", CHANNELS, ids=lambda p: p.name)
def test_no_channel_reaches_into_the_dialogues_store(path):
    assert _reaches_into_the_dialogues_store(ast.parse(path.read_text(encoding="utf-8"))) == [], path.name


def test_the_scan_sees_what_it_forbids():
    tree = ast.parse("from bot.dialogue import Dialogue\nfrom bot import dialogue\n"
                     "x = self.dialogue.store.user(1)\ny = getattr(dialogue, 'store')\n")
    assert "bot.dialogue" in _imports(tree) and "bot.dialogue.Dialogue" in _imports(tree)
    assert _reaches_into_the_dialogues_store(tree) == [3, 4]
