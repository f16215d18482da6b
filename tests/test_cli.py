"""The `socialbot` command: documented in the README, and its subcommands do what they say."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import click
import pytest

from bot.cli import COMMANDS, cli, main
from bot.store import Store
from conversations.loader import load_flows

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FLOWS = load_flows()
PROTOCOL = {"user", "text", "buttons", "lang", "kind", "topic", "flow", "step", "fallback", "confidence"}


def _actions(name: str) -> list[str]:
    """The second-level actions of a subcommand (`kb check`, `flows list`, ...)."""
    return list(getattr(cli.commands[name], "commands", {}))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_subcommand_is_documented_in_the_readme(name):
    assert f"`socialbot {name}" in README, f"README.md does not document `socialbot {name}`"
    for action in _actions(name):
        assert re.search(rf"socialbot {name} {action}\b", README), f"README.md lacks `socialbot {name} {action}`"


def test_building_the_dialogue_leaves_the_cycle_collector_on():
    """It is off while the knowledge base is built (nothing to collect there), never after."""
    import gc

    from bot import cli

    assert gc.isenabled()
    with cli._opened(None, memory=True) as store:
        dialogue = cli._dialogue(store)
        assert gc.isenabled() and dialogue.say("u", "hello").text


def test_every_subcommand_has_a_parser_and_help():
    assert set(cli.commands) == set(COMMANDS)
    helptext = cli.get_help(click.Context(cli, info_name="socialbot"))
    for name in COMMANDS:
        assert name in helptext
    assert list(cli.list_commands(click.Context(cli))) == list(COMMANDS)  # listed in the README's order


def test_help_exits_zero_and_names_every_option(capsys):
    assert main(["batch", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--db" in out and "--workers" in out and "Usage: socialbot batch" in out


def test_a_bad_option_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "hola", "--lang", "fr"])
    assert exit_.value.code == 2 and "--lang" in capsys.readouterr().err


def test_the_readme_documents_no_command_that_does_not_exist():
    documented = set(re.findall(r"`socialbot ([a-z]+)", README))
    assert documented <= set(COMMANDS), documented - set(COMMANDS)


def test_ask_json_prints_one_protocol_object(socialbot_cmd):
    run = subprocess.run([*socialbot_cmd, "ask", "¿Cuándo es la revisión anual?", "--json"], cwd=ROOT,
                         capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    lines = run.stdout.decode("utf-8").splitlines()
    assert len(lines) == 1
    reply = json.loads(lines[0])
    assert PROTOCOL <= set(reply)
    assert (reply["kind"], reply["topic"], reply["lang"], reply["fallback"]) == ("answer", "review-months", "es", False)
    assert isinstance(reply["buttons"], list) and isinstance(reply["confidence"], float)


def test_ask_uses_the_lang_hint(capsys):
    assert main(["ask", "Alipay", "--lang", "zh", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lang"] == "zh"


def test_ask_without_json_prints_the_text_and_numbered_buttons(capsys):
    assert main(["ask", "how do I pay social insurance myself"]) == 0
    out = capsys.readouterr().out
    assert "Source:" in out
    assert re.search(r"^  \[1\] ", out, re.M)
    assert not out.lstrip().startswith("{")


def test_flows_diagram_prints_a_mermaid_state_diagram(capsys):
    assert main(["flows", "diagram", "annual_review"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].strip() == "stateDiagram-v2"
    flow = FLOWS["annual_review"]
    assert re.search(rf"\[\*\] --> {flow.start}\b", out)
    for step_id, step in flow.steps.items():
        assert re.search(rf"\b{step_id}\b", out), step_id
        if step.next:
            assert re.search(rf"{step_id} --> {step.next}\b", out), (step_id, step.next)
        for choice in step.choices:
            assert re.search(rf"{step_id} --> {choice.to}\b", out), (step_id, choice.to)
    assert re.search(r"--> \[\*\]", out)  # the ends


def test_flows_diagram_in_another_language(capsys):
    assert main(["flows", "diagram", "personal_payment", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stateDiagram-v2")
    assert re.search(r"[\u4e00-\u9fff]", out)


def test_flows_diagram_of_an_unknown_procedure_fails(capsys):
    assert main(["flows", "diagram", "no_such_flow"]) == 2
    err = capsys.readouterr().err
    assert "no_such_flow" in err and "annual_review" in err


def test_flows_list_names_every_procedure(capsys):
    assert main(["flows", "list"]) == 0
    out = capsys.readouterr().out
    for flow in FLOWS.values():
        assert re.search(rf"^{flow.id}: {re.escape(flow.title['en'])} \({len(flow.steps)} steps\)$", out, re.M)


def test_kb_check_passes(capsys):
    assert main(["kb", "check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_report_reads_a_database(tmp_path, capsys):
    db = tmp_path / "r.db"
    store = Store(db)
    store.record_unanswered("u1", "en", "what is the weather like", "fallback", [])
    store.record_feedback("u1", "review-months", "en", -1)
    store.close()
    assert main(["report", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "what is the weather like" in out
    assert "review-months" in out


def test_db_backup_copies_the_database(tmp_path, capsys):
    db, copy = tmp_path / "live.db", tmp_path / "backup" / "copy.db"
    store = Store(db)
    store.record_unanswered("u1", "en", "a question to keep", "fallback", [])
    store.close()
    assert main(["db", "backup", str(copy), "--db", str(db)]) == 0
    assert copy.exists()
    restored = Store(copy)
    assert [r["text"] for r in restored.unanswered()] == ["a question to keep"]
    restored.close()


def test_an_unknown_subcommand_is_refused():
    with pytest.raises(SystemExit) as exit_:
        main(["nonsense"])
    assert exit_.value.code == 2


def _chat_users(tmp_path, monkeypatch, capsys, *extra):
    import io
    import sqlite_utils

    db = tmp_path / "chat.db"
    for _ in range(2):
        monkeypatch.setattr("sys.stdin", io.StringIO("When is the annual review?\n"))
        assert main(["chat", "--db", str(db), *extra]) == 0
    capsys.readouterr()
    read = sqlite_utils.Database(db)
    try:
        return {row["id"] for row in read["users"].rows}
    finally:
        read.close()


def test_each_console_session_is_its_own_user(tmp_path, monkeypatch, capsys):
    assert len(_chat_users(tmp_path, monkeypatch, capsys)) == 2


@pytest.fixture
def opened(monkeypatch):
    """Every Store a command opens, with whether it was closed."""
    from bot.store import Store

    stores: dict[int, list] = {}
    real_init, real_close = Store.__init__, Store.close

    def init(self, *args, **kw):
        real_init(self, *args, **kw)
        stores[id(self)] = [self, False]

    def close(self):
        stores[id(self)][1] = True
        real_close(self)

    monkeypatch.setattr(Store, "__init__", init)
    monkeypatch.setattr(Store, "close", close)
    return stores


@pytest.mark.parametrize("argv", [["chat", "--db", "{db}"], ["ask", "hola"], ["report", "--db", "{db}"],
                                  ["pause", "--db", "{db}"], ["resume", "--db", "{db}"],
                                  ["db", "backup", "{db}.copy", "--db", "{db}"]])
def test_every_command_closes_the_store_it_opened(tmp_path, monkeypatch, capsys, opened, argv):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("When is the annual review?\n"))
    assert main([a.format(db=tmp_path / "c.db") for a in argv]) == 0
    assert opened and all(closed for _, closed in opened.values())


def test_console_user_flag_keeps_one_user_across_sessions(tmp_path, monkeypatch, capsys):
    assert len(_chat_users(tmp_path, monkeypatch, capsys, "--user", "ana")) == 1


def test_plain_socialbot_without_a_terminal_or_token_says_how_to_set_the_token(tmp_path, monkeypatch, capsys):
    import io

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("SOCIALBOT_DB", str(tmp_path / "d.db"))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main([]) == 0
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err and "docker run -e TELEGRAM_BOT_TOKEN" in err


def test_links_prints_one_start_link_per_procedure_and_topic_and_writes_their_qr_codes(tmp_path, capsys):
    from knowledge.kb import load

    assert main(["links", "--bot", "@bureau_bot", "--qr", str(tmp_path / "qr")]) == 0
    lines = capsys.readouterr().out.splitlines()
    urls = [line.split("\t")[0] for line in lines]
    answers = [t for t in load().topics.values() if t.kind == "answer"]
    assert len(urls) == len(FLOWS) + len(answers)
    assert "https://t.me/bureau_bot?start=annual_review" in urls
    assert all(re.fullmatch(r"https://t\.me/bureau_bot\?start=[A-Za-z0-9_-]{1,64}", u) for u in urls)
    pngs = sorted((tmp_path / "qr").glob("*.png"))
    assert len(pngs) == len(urls)
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)


def test_links_without_a_bot_name_says_how_to_give_one(capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    assert main(["links"]) == 2
    assert "--bot" in capsys.readouterr().err
