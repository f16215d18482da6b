"""Any user id is served: one with a lone surrogate, or megabytes long, gets answers and keeps its
place like any other, and is stored under a bounded, valid key."""
from __future__ import annotations

import sqlite3

import pytest

from bot.store import MAX_ID, Store, user_key

ODD_IDS = ["\ud800", "a\udfffb", "x" * 10_000, "y" * 200 + "\ud83d", "\x00nul", "🙂" * 129]


@pytest.mark.parametrize("user", ODD_IDS, ids=["lone-high", "lone-low", "10k", "long+surrogate", "nul", "emoji"])
def test_an_odd_user_id_is_answered_and_keeps_its_place(dialogue, user):
    first = dialogue.say(user, "guide me step by step through the annual review on my phone")
    assert first.kind == "step" and first.user == user
    second = dialogue.say(user, "Alipay")
    assert second.kind == "step" and second.step != first.step
    assert dialogue.say(user, "/forget").kind == "command"
    assert dialogue.say(user, button="forget:yes").kind == "command"
    assert dialogue.store.holds(user) == 0


def test_keys_are_bounded_valid_and_distinct(tmp_path):
    store = Store(tmp_path / "ids.db")
    ids = ["x" * 10_000, "x" * 9_999 + "y", "\ud800", "\udc00", "plain"]
    for n, user in enumerate(ids):
        row = store.user(user)
        row.lang = ["en", "es", "zh", "en", "es"][n]
        store.save_user(row)
    assert [store.user(u).lang for u in ids] == ["en", "es", "zh", "en", "es"]
    assert len({user_key(u) for u in ids}) == len(ids)
    assert user_key("plain") == "plain" and user_key(user_key("\ud800")) == user_key("\ud800")
    store.close()
    with sqlite3.connect(tmp_path / "ids.db") as conn:
        lengths = [n for (n,) in conn.execute("select length(id) from users")]
    assert len(lengths) == len(ids) and max(lengths) <= MAX_ID


def test_a_lone_surrogate_user_through_batch(start_batch):
    batch = start_batch()
    reply = batch.ask('{"user": "\\ud800", "text": "guide me step by step through the annual review on my phone"}')
    assert reply["kind"] == "step", reply
    second = batch.ask('{"user": "\\ud800", "text": "Alipay"}')
    assert second["kind"] == "step" and second["step"] != reply["step"]
