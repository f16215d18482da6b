"""`reviewed_on`: required on every topic and procedure, warned about when old, shown as the content's date
in the README and in every channel's first message."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import date
from functools import partial
from pathlib import Path

import pytest
import yaml

import bot.checks
from bot import render
from bot.channels import console
from bot.checks import check_all, review_warnings, reviewed_date
from bot.cli import main
from conversations.validate import validate_flows
from knowledge.kb import SOURCES_FILE, TOPICS_DIR
from knowledge.review import DEFAULT_MAX_DAYS, MAX_DAYS_ENV, content_date, max_days, review_problem
from knowledge.schema import check_topics

ROOT = Path(__file__).resolve().parent.parent
FLOWS_DIR = ROOT / "conversations" / "flows"
TODAY = date(2026, 12, 6)


@pytest.fixture
def content(tmp_path):
    """A copy of the real topics, sources and procedures that a test may change."""
    topics, flows, sources = tmp_path / "topics", tmp_path / "flows", tmp_path / "sources.yaml"
    shutil.copytree(TOPICS_DIR, topics)
    shutil.copytree(FLOWS_DIR, flows)
    shutil.copy(SOURCES_FILE, sources)
    return topics, flows, sources


def set_reviewed(path: Path, value) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if value is None:
        data.pop("reviewed_on", None)
    else:
        data["reviewed_on"] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --- the field ------------------------------------------------------------------------------

def test_every_topic_and_procedure_carries_a_valid_reviewed_on():
    files = sorted(TOPICS_DIR.glob("*.yaml")) + sorted(FLOWS_DIR.glob("*.yaml"))
    assert len(files) > 20
    for path in files:
        value = yaml.safe_load(path.read_text(encoding="utf-8")).get("reviewed_on")
        assert review_problem(value) is None, f"{path.name}: {value!r}"


@pytest.mark.parametrize("value, says", [(None, "missing"), ("2026-13-01", "not a date"), ("06/12/2026", "not a date"),
                                          ("yesterday", "not a date"), ("2999-01-01", "in the future")])
def test_a_topic_without_a_good_reviewed_on_fails_the_check(content, value, says):
    topics, _, sources = content
    set_reviewed(topics / "review-months.yaml", value)
    problems = check_topics(topics, sources)
    assert len(problems) == 1 and re.match(r".*/review-months\.yaml:\d+: reviewed_on: ", problems[0]) and says in problems[0]


@pytest.mark.parametrize("value, says", [(None, "missing"), ("2026-02-30", "not a date")])
def test_a_procedure_without_a_good_reviewed_on_fails_the_check(content, value, says):
    topics, flows, sources = content
    set_reviewed(flows / "personal_payment.yaml", value)
    problems = check_all(topics, flows, sources)
    assert len(problems) == 1 and re.search(r"personal_payment\.yaml:\d+: reviewed_on:", problems[0]) and says in problems[0]
    assert validate_flows(flows) == problems


def test_a_quoted_date_and_an_unquoted_one_both_pass(content):
    topics, flows, sources = content
    set_reviewed(topics / "review-months.yaml", "2026-01-31")  # dumped quoted: a string
    set_reviewed(flows / "personal_payment.yaml", date(2026, 1, 31))  # dumped bare: YAML's date
    assert check_all(topics, flows, sources) == []


# --- staleness: a warning, never a failure ----------------------------------------------------

def test_an_old_review_is_a_warning_and_its_age_is_configurable(content):
    topics, flows, _ = content
    set_reviewed(topics / "review-months.yaml", "2025-12-05")  # 366 days before TODAY
    set_reviewed(flows / "personal_payment.yaml", "2025-12-06")  # exactly 365: still fresh
    [warning] = review_warnings(topics, flows, today=TODAY, days=DEFAULT_MAX_DAYS)
    assert warning.startswith("review-months.yaml: reviewed_on: last checked 2025-12-05, 366 days ago")
    assert len(review_warnings(topics, flows, today=TODAY, days=364)) == 2
    assert review_warnings(topics, flows, today=TODAY, days=400) == []
    assert review_warnings(today=TODAY) == []  # the real content is fresh


def test_max_days_comes_from_the_environment():
    assert max_days({}) == DEFAULT_MAX_DAYS == 365
    assert max_days({MAX_DAYS_ENV: "30"}) == 30
    assert max_days({MAX_DAYS_ENV: "soon"}) == DEFAULT_MAX_DAYS  # nonsense never silences the check


def test_kb_check_prints_the_warning_and_still_exits_0(content, monkeypatch, capsys):
    topics, flows, sources = content
    set_reviewed(topics / "review-months.yaml", "2020-01-01")
    monkeypatch.setattr(bot.checks, "check_all", partial(check_all, topics, flows, sources))
    monkeypatch.setattr(bot.checks, "review_warnings", partial(review_warnings, topics, flows))
    monkeypatch.setattr(bot.checks, "reviewed_date", partial(reviewed_date, topics, flows))
    monkeypatch.setenv(MAX_DAYS_ENV, "365")
    assert main(["kb", "check"]) == 0
    out = capsys.readouterr().out
    assert "warning: review-months.yaml: reviewed_on: last checked 2020-01-01" in out
    assert "knowledge base OK (1 warning(s)); content reviewed on 2020-01-01" in out
    monkeypatch.setenv(MAX_DAYS_ENV, "100000")
    assert main(["kb", "check"]) == 0
    assert "warning" not in capsys.readouterr().out


# --- the content's date -------------------------------------------------------------------------

def test_the_content_date_is_the_oldest_review(content):
    topics, flows, _ = content
    assert content_date(["2026-03-01", date(2025, 7, 9), None, "not a date"]) == "2025-07-09"
    set_reviewed(flows / "annual_review.yaml", "2024-02-29")
    assert reviewed_date(topics, flows) == "2024-02-29"


def test_the_readme_shows_the_content_date():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Content reviewed on: **{reviewed_date()}**" in readme


# --- every channel's first message ----------------------------------------------------------------

INTRO_WORDS = {"en": ["automated assistant", "curated", "documents"],
               "es": ["asistente automático", "documentos"],
               "zh": ["自动应答", "资料"]}


def intro(lang: str) -> str:
    return render.say("automated", lang, date=reviewed_date())


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_the_introduction_says_automated_curated_and_dated(lang):
    text = intro(lang)
    assert all(w in text for w in INTRO_WORDS[lang]), text
    assert reviewed_date() in text


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_the_start_welcome_says_it_once(dialogue, lang):
    reply = dialogue.say(f"w-{lang}", "/start", lang=lang)
    assert reply.text.count(intro(lang)) == 1
    again = dialogue.say(f"w-{lang}", "/start", lang=lang)
    assert intro(lang) in again.text  # /start always introduces the bot


@pytest.mark.parametrize("lang, question", [("en", "when is the annual review"), ("es", "¿cuándo es la revisión anual?"),
                                            ("zh", "社保年审是几月份")])
def test_a_new_users_first_reply_starts_with_it_and_the_next_does_not(dialogue, lang, question):
    first = dialogue.say(f"q-{lang}", question)
    assert first.kind == "answer" and first.lang == lang
    assert first.text.startswith(intro(lang) + "\n\n")
    second = dialogue.say(f"q-{lang}", question)
    assert intro(lang) not in second.text and second.text == first.text[len(intro(lang)) + 2:]


def test_a_first_message_the_bot_cannot_answer_still_gets_it(dialogue):
    reply = dialogue.say("lost", "what is the weather in madrid tomorrow")
    assert reply.fallback and reply.text.startswith(intro("en"))


def test_after_forget_the_next_message_is_a_first_one_again(dialogue):
    dialogue.say("f", "when is the annual review")
    assert intro("en") not in dialogue.say("f", "when is the annual review").text
    dialogue.say("f", "/forget")
    dialogue.say("f", button="forget:yes")
    assert dialogue.say("f", "when is the annual review").text.startswith(intro("en"))


def test_the_console_opens_with_it(dialogue, monkeypatch):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LANG", raising=False)
    out = io.StringIO()
    console.run(dialogue, io.StringIO(""), out)
    assert out.getvalue().split(console.PROMPT)[0].count(intro("en")) == 1


def test_batch_says_it_to_each_new_user_once(socialbot_cmd):
    lines = [{"user": "a", "text": "社保年审几月"}, {"user": "a", "text": "社保年审几月"},
             {"user": "b", "text": "/start", "lang": "es"}]
    run = subprocess.run([*socialbot_cmd, "batch"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         input="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    replies = [json.loads(line) for line in run.stdout.splitlines()]
    assert [intro(r["lang"]) in r["text"] for r in replies] == [True, False, True]


@pytest.mark.parametrize("accept, lang", [("en", "en"), ("es-ES,es;q=0.9", "es"), ("zh-CN", "zh")])
def test_the_web_page_opens_with_it(built_dialogue, accept, lang):
    from tests.web_client import Client, WebServer

    server = WebServer(built_dialogue, rate=10_000)
    try:
        page = Client(server.url, accept_language=accept).open()
        first = page.bubbles[0]
        assert first.who == "bot" and " ".join(intro(lang).split()) in " ".join(first.text.split())
    finally:
        server.close()
