"""Feedback cannot be stuffed: one vote per user per answer; and in a group chat the escalation
summary shows only what was asked in that group."""
from __future__ import annotations

import sqlite_utils

from bot.messages import Message
from bot.report import report
from bot.store import Store, migrations

QUESTION = "when is the annual review?"


def test_a_thousand_typed_thumbs_down_are_one_vote(dialogue):
    topic = dialogue.say("stuffer", QUESTION).topic
    assert topic
    for _ in range(1000):
        dialogue.say("stuffer", "👎")
    rows = dialogue.store.feedback()
    assert [(r["topic"], r["vote"]) for r in rows] == [(topic, -1)]
    dialogue.say("stuffer", "👍")  # a change of mind replaces the vote
    assert [(r["topic"], r["vote"]) for r in dialogue.store.feedback()] == [(topic, 1)]
    for _ in range(50):
        dialogue.say("stuffer", button=f"fb:down:{topic}")
    assert len(dialogue.store.feedback()) == 1
    dialogue.say("another", QUESTION)
    dialogue.say("another", "👎")
    assert sorted(r["vote"] for r in dialogue.store.feedback()) == [-1, -1]
    text = report(dialogue.store)
    assert f"   2 👎  (0 👍, 2 👎)  {topic}" in text


def test_old_duplicate_votes_are_folded_into_the_latest(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="m007_one_vote_per_answer")
    for vote in (-1, -1, -1, 1):
        db["feedback"].insert({"user": "u", "topic": "review-months", "lang": "en", "vote": vote, "ts": "2026-01-01"})
    db["feedback"].insert({"user": "v", "topic": "review-months", "lang": "en", "vote": -1, "ts": "2026-01-01"})
    db.close()
    store = Store(path)
    assert sorted((r["user"], r["vote"]) for r in store.feedback()) == [("u", 1), ("v", -1)]
    store.close()


def test_in_a_group_the_summary_shows_only_what_was_asked_in_that_group(dialogue):
    def say(text, chat):
        return dialogue.handle(Message(user="7", text=text, chat=chat, channel="telegram"))

    say("how do I register my quokka farm privately?", "7")  # the private chat: chat id == user id
    say("what does the zebra crossing pension pay?", "-100")  # a group
    say("is the platypus allowance taxed?", "-200")  # another group
    in_group = say("I want to talk to a person", "-100").text
    assert "zebra" in in_group
    assert "quokka" not in in_group and "platypus" not in in_group
    private = say("I want to talk to a person", "7").text
    assert "quokka" in private and "zebra" in private  # in private, the user sees all they asked
    again = Store(memory=True)  # what is stored keeps where each question was asked
    again.save_user(dialogue.store.user("7"))
    assert again.user("7").asked_in("-200") == [q for q in dialogue.store.user("7").recent if "platypus" in q]
