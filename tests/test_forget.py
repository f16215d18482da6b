"""What socialbot holds about a person: /forget erases all of it, retention purges old questions,
and nothing logged carries a personal number."""
from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
import zlib

import pytest

from bot import render
from bot.dialogue import Dialogue
from bot.privacy import MaskPersonal
from bot.store import USER_TABLES, Store, _iso, now, retention_days

ROOT = Path(__file__).resolve().parent.parent
QUESTION = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
MISS = {"en": "How do I bake bread?", "es": "¿Cómo se cocina una paella?", "zh": "怎么烤面包？"}
FORGET = [("/forget", "en"), ("forget me", "en"), ("olvídame", "es"), ("删除我的信息", "zh"),
          ("/forget", "es"), ("/forget", "zh"), ("delete my data", "en"), ("borra mis datos", "es")]
ID_NUMBER, PHONE = "11010519491231002X", "13812345678"


@pytest.fixture
def core(dialogue):
    """conftest's dialogue: built once, a fresh in-memory store per test."""
    return dialogue


def fill(core: Dialogue, user: str, lang: str) -> None:
    """A user the store holds something about in every table."""
    core.say(user, QUESTION[lang])  # users row
    core.say(user, button="fb:down:review-months")  # doubted: a 👎 right after the answer
    core.say(user, button="fb:up:review-months")  # feedback
    core.say(user, button="remind:next")  # reminders (set whatever the month: not "is it open now?")
    core.say(user, MISS[lang])  # unanswered
    core.say(user, button="flow:annual_review:start")  # a place in a procedure
    chat = zlib.crc32(user.encode())  # what the Telegram channel keeps of the messages it sent them
    core.store.keep_offer(chat, 1, "rest", user, lang, "…")  # telegram_kept
    core.store.set_step_message(chat, user, 2)  # telegram_steps


def per_table(store: Store, user: str) -> dict[str, int]:
    return {t: store.db.execute(f"select count(*) from {t} where {c} = ?", [user]).fetchone()[0]
            for t, c in USER_TABLES}


@pytest.mark.parametrize("text,lang", FORGET)
def test_forget_erases_everything_and_says_so(core, text, lang):
    fill(core, "me", lang)
    fill(core, "other", "en")
    assert all(per_table(core.store, "me").values()), per_table(core.store, "me")
    others = per_table(core.store, "other")

    asked = core.say("me", text)  # asked first: one slip of a finger must not erase a person's progress
    assert asked.lang == lang and [b.id for b in asked.buttons] == ["forget:yes", "forget:no"]
    assert all(per_table(core.store, "me").values())
    reply = core.say("me", render.say("forget_yes", lang))  # typing the label is pressing it

    assert (reply.kind, reply.lang) == ("command", lang)
    assert reply.text == render.say("forgotten", lang)
    assert core.store.holds("me") == 0
    assert per_table(core.store, "other") == others  # nobody else is touched
    assert core.store.user("other").flow_state is not None


def test_after_forget_the_user_starts_afresh(core):
    fill(core, "me", "es")
    core.say("me", "olvídame")
    core.say("me", button="forget:yes")
    assert core.store.holds("me") == 0
    assert core.store.user("me").flow_state is None and core.store.user("me").lang is None
    reply = core.say("me", QUESTION["zh"])
    assert reply.kind == "answer" and core.store.holds("me") == 1


def test_forget_is_not_a_question_it_is_stored_as(core):
    core.say("me", "forget me")
    core.say("me", "Yes, erase everything")
    assert core.store.unanswered() == [] and core.store.holds("me") == 0


def test_every_table_that_names_a_user_is_erased():
    """A future migration adding a table with a user column must add it to USER_TABLES too."""
    store = Store(memory=True)
    named = set()
    for table in store.db.table_names():
        columns = {c.name for c in store.db[table].columns}
        if "user" in columns:
            named.add((table, "user"))
    named.add(("users", "id"))
    assert named == set(USER_TABLES)


def test_forget_through_batch(tmp_path):
    db = tmp_path / "socialbot.db"
    lines = [{"user": "me", "text": QUESTION["zh"]}, {"user": "me", "button": "fb:down:review-months"},
             {"user": "me", "button": "remind:next"}, {"user": "me", "text": MISS["zh"]},
             {"user": "you", "text": MISS["en"]}, {"user": "me", "text": "删除我的信息"},
             {"user": "me", "text": render.say("forget_yes", "zh")}]
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch", "--db", str(db)], cwd=ROOT, timeout=120,
                          input="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.splitlines()[-1])
    assert (last["kind"], last["lang"], last["text"]) == ("command", "zh", render.say("forgotten", "zh"))
    store = Store(db)
    assert store.holds("me") == 0 and store.holds("you") == 2
    store.close()


# -- retention ----------------------------------------------------------------------------------
def age(store: Store, table: str, days: float) -> None:
    """Every row of a table as if written `days` ago."""
    store.db.execute(f"update {table} set ts = ?", [_iso(now() - timedelta(days=days))])
    store.db.conn.commit()


def test_purge_drops_old_questions_and_feedback_only(core):
    store = core.store
    fill(core, "old", "en")
    age(store, "unanswered", 120)
    age(store, "feedback", 120)
    store.db.execute("update users set seen = ? where id = 'old'", [_iso(now() - timedelta(days=120))])
    store.db.conn.commit()
    fill(core, "new", "es")

    gone = store.purge(90)

    assert gone == 2
    assert [r["user"] for r in store.unanswered()] == ["new"]
    assert [r["user"] for r in store.feedback()] == ["new"]
    old = store.user("old")
    assert old.recent == [] and old.flow_state is not None and old.lang == "en"  # the place is kept
    assert store.reminder("old") is not None  # so is a reminder the user asked for
    assert store.user("new").recent  # a user seen lately keeps their recent questions


@pytest.mark.parametrize("env,days", [("30", 30), ("0", 0), ("", 90), ("ninety", 90), ("-5", 90), (" 7 ", 7)])
def test_retention_days_from_the_environment(env, days):
    assert retention_days({"SOCIALBOT_RETENTION_DAYS": env}) == days


def test_retention_default_is_90_days():
    assert retention_days({}) == 90


def test_purge_uses_the_environment(core, monkeypatch):
    store = core.store
    core.say("u", MISS["zh"])
    core.say("u", MISS["en"])
    store.db.execute("update unanswered set ts = ? where id = 1", [_iso(now() - timedelta(days=40))])
    store.db.execute("update unanswered set ts = ? where id = 2", [_iso(now() - timedelta(days=20))])
    store.db.conn.commit()
    assert store.purge() == 0  # 90 days by default
    monkeypatch.setenv("SOCIALBOT_RETENTION_DAYS", "30")
    assert store.purge() == 1
    assert [r["lang"] for r in store.unanswered()] == ["en"]


def test_purge_at_a_given_moment(core):
    core.say("u", MISS["es"])
    assert core.store.purge(90, at=now() + timedelta(days=89)) == 0
    assert core.store.purge(90, at=now() + timedelta(days=91)) == 1


# -- logs -----------------------------------------------------------------------------------------
def logged(caplog) -> str:
    formatter = logging.Formatter("%(message)s")
    return "\n".join(formatter.format(r) + (r.exc_text or "") for r in caplog.records)


def assert_no_number(text: str) -> None:
    for number in (ID_NUMBER, ID_NUMBER[:17], PHONE, PHONE[:7]):
        assert number not in text, text[-2000:]


def test_nothing_logged_on_the_way_holds_a_number(core, caplog):
    caplog.set_level(logging.DEBUG)
    for text in (f"my ID is {ID_NUMBER} and my phone {PHONE}, when is the annual review?",
                 f"身份证{ID_NUMBER}手机{PHONE}", f"{PHONE}{ID_NUMBER}"):
        core.say("u", text)
    assert_no_number(logged(caplog))
    assert_no_number("\n".join(core.store.db.iterdump()))


def test_a_failure_path_logs_no_number(core, caplog, monkeypatch):
    """The core fails while answering: the traceback is logged, the numbers in it are masked."""
    seen = []

    def broken(text, *args, **kwargs):
        seen.append(text)
        raise RuntimeError(f"cannot score {text!r}")

    monkeypatch.setattr(core, "matcher", copy.copy(core.matcher))
    monkeypatch.setattr(core.matcher, "score", broken)
    caplog.set_level(logging.DEBUG)
    reply = core.say("u", f"my ID is {ID_NUMBER}, phone {PHONE}")
    assert reply.kind == "error" and seen
    assert "cannot score" in logged(caplog)  # the failure was logged ...
    assert_no_number(logged(caplog))  # ... without the numbers


def test_a_failure_before_masking_logs_no_number(core, caplog, monkeypatch):
    import bot.dialogue

    def broken(text):  # reading the message (its language among the rest) fails before masking
        raise ValueError(f"cannot detect the language of {text!r}")

    monkeypatch.setattr(bot.dialogue, "read", broken)
    caplog.set_level(logging.DEBUG)
    reply = core.say("u", f"my ID is {ID_NUMBER}, phone {PHONE}")
    assert reply.kind == "error"
    assert "cannot detect" in logged(caplog)
    assert_no_number(logged(caplog))


def test_the_masking_filter_on_a_logger(caplog):
    log = logging.getLogger("socialbot.test.masking")
    log.addFilter(MaskPersonal())
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError(f"bad input {ID_NUMBER}")
    except ValueError:
        log.exception("failed for %s and %s", PHONE, {"text": f"id {ID_NUMBER}"})
    log.info("plain %d%%", 5)
    out = logged(caplog)
    assert_no_number(out)
    assert "[PHONE:***5678]" in out and "[ID:***002X]" in out and "plain 5%" in out


def test_batch_stderr_holds_no_number_at_debug(tmp_path):
    lines = [{"user": "u", "text": f"身份证{ID_NUMBER}，手机{PHONE}，年审几月？"}, "{not json " + PHONE,
             {"user": "u", "text": f"{PHONE}{ID_NUMBER}"}]
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch", "--db", str(tmp_path / "db.sqlite")],
                          cwd=ROOT, timeout=120, capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "SOCIALBOT_LOG": "DEBUG"},
                          input="".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n"
                                        for x in lines))
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 3
    assert_no_number(done.stderr)
    assert_no_number(done.stdout)


def test_forget_leaves_nothing_in_the_database_file_or_its_wal(built_dialogue, tmp_path):
    d = copy.copy(built_dialogue)
    d.store = Store(tmp_path / "f.db")
    for text in ("How do I register my quokkazebra farm?", "quokkazebra pension please", "I want a person"):
        d.say("quokkazebra-user", text)
    assert b"quokkazebra" in (tmp_path / "f.db-wal").read_bytes() + (tmp_path / "f.db").read_bytes()
    d.say("quokkazebra-user", "/forget")
    d.say("quokkazebra-user", button="forget:yes")
    assert d.store.holds("quokkazebra-user") == 0
    wal = tmp_path / "f.db-wal"
    assert b"quokkazebra" not in (wal.read_bytes() if wal.exists() else b"")
    assert b"quokkazebra" not in (tmp_path / "f.db").read_bytes()
    d.store.close()
