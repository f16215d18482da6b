"""Dialogue scripts as data (tests/dialogues/*.yaml), run through the Dialogue core and through `socialbot batch`.

A script is a list of turns:

    - say: "guíame paso a paso para pagar la seguridad social por mi cuenta"
      lang: es                  # optional: the client's language hint
      expect: ["Paso 1 de"]     # substrings of the reply's text
      expect_buttons: [Siguiente]  # labels among the reply's buttons
      expect_kind: step         # answer | suggest | fallback | step | command | error
      expect_flow: personal_payment   # null: not in a procedure
      expect_step: get_forms
      expect_topic: null
      expect_lang: es

They also run through the web channel (`socialbot web`, forms posted as a browser without
JavaScript would), read back out of the page. Each script talks as its own user (the file name), so scripts never see each other's state.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent / "dialogues"
SCRIPTS = sorted(HERE.glob("*.yaml"))
KEYS = {"say", "lang", "expect", "expect_buttons", "expect_kind", "expect_flow", "expect_step", "expect_topic",
        "expect_lang", "expect_not"}
KINDS = {"answer", "suggest", "fallback", "step", "command", "error"}


def load_script(path: Path) -> list[dict]:
    turns = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(turns, list) and turns, f"{path.name}: a script is a non-empty list of turns"
    for n, turn in enumerate(turns):
        where = f"{path.name}[{n}]"
        assert isinstance(turn, dict), f"{where}: a turn is a mapping"
        assert set(turn) <= KEYS, f"{where}: unknown keys {set(turn) - KEYS}"
        assert isinstance(turn.get("say"), str), f"{where}: say: must be a text"
        for key in ("expect", "expect_buttons", "expect_not"):
            assert isinstance(turn.get(key, []), list), f"{where}: {key}: must be a list"
        assert turn.get("expect_kind", "answer") in KINDS, f"{where}: expect_kind: unknown kind"
    return turns


def check_turn(path: Path, n: int, turn: dict, reply: dict) -> None:
    """reply is the protocol object (Reply.to_json() or a batch line)."""
    where = f"{path.name}[{n}] say {turn['say']!r}"
    text = reply["text"]
    for needle in turn.get("expect", []):
        assert str(needle) in text, f"{where}: {needle!r} not in reply:\n{text}"
    for needle in turn.get("expect_not", []):
        assert str(needle) not in text, f"{where}: {needle!r} should not be in reply:\n{text}"
    for wanted in turn.get("expect_buttons", []):
        assert wanted in reply["buttons"], f"{where}: no button {wanted!r} in {reply['buttons']}"
    for key in ("kind", "flow", "step", "topic", "lang"):
        if f"expect_{key}" in turn:
            assert reply[key] == turn[f"expect_{key}"], \
                f"{where}: {key} is {reply[key]!r}, expected {turn[f'expect_{key}']!r}\n{text}"


def script_ids():
    return [p.stem for p in SCRIPTS]


def test_there_are_scripts_for_every_procedure_in_every_language(built_dialogue):
    assert len(SCRIPTS) >= 12
    covered = set()
    for path in SCRIPTS:
        turns = load_script(path)
        for n, turn in enumerate(turns):
            if turn.get("expect_kind") == "step" and turn.get("expect_flow") and "expect_lang" in turn:
                covered.add((turn["expect_flow"], turn["expect_lang"]))
    wanted = {(flow, lang) for flow in built_dialogue.flows for lang in ("en", "es", "zh")}
    assert wanted <= covered, sorted(wanted - covered)


@pytest.mark.parametrize("path", SCRIPTS, ids=script_ids())
def test_script_through_the_dialogue_core(dialogue, path):
    for n, turn in enumerate(load_script(path)):
        reply = dialogue.say(path.stem, turn["say"], lang=turn.get("lang"))
        check_turn(path, n, turn, reply.to_json())


@pytest.mark.parametrize("path", SCRIPTS, ids=script_ids())
def test_script_through_the_batch_channel(shared_batch, path):
    user = f"batch-{path.stem}"
    for n, turn in enumerate(load_script(path)):
        request = {"user": user, "text": turn["say"]}
        if turn.get("lang"):
            request["lang"] = turn["lang"]
        reply = shared_batch.ask(request)
        assert reply["user"] == user and "error" not in reply, reply
        check_turn(path, n, turn, reply)


@pytest.fixture(scope="module")
def web_server(built_dialogue):
    from tests.web_client import WebServer

    server = WebServer(built_dialogue, rate=10_000)
    yield server
    server.close()


@pytest.mark.parametrize("path", SCRIPTS, ids=script_ids())
def test_script_through_the_web_channel(web_server, path):
    from tests.web_client import Client

    client = Client(web_server.url)
    for n, turn in enumerate(load_script(path)):
        client.headers["Accept-Language"] = turn.get("lang") or ""
        reply = client.say(turn["say"])
        assert client.status == 200 and reply.who == "bot", (client.status, reply)
        check_turn(path, n, turn, reply.to_json())
