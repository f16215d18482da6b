"""An old database opens with a newer socialbot: migrations from an empty file and from the first
schema keep every row and apply what is new; the first migration never changes."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from bot.store import Store, StoreError, migrations

NAMES = [m.name for m in migrations._migrations]
FIRST, SECOND = NAMES[0], NAMES[1]
NEW_INDEXES = {("feedback", ("ts",)), ("feedback", ("topic",)), ("reminders", ("due",))}
PLACE = {"v": 1, "flow": "annual_review", "step": "alipay_city", "path": ["route", "alipay_more"],
         "ticked": [], "status": "active"}
GLUED = "13812345678" + "11010519491231002X"  # a phone glued to an ID: older maskers kept it in clear

# The schema m001 creates, pinned (columns as PRAGMA table_info gives them: name, type, not null,
# default, primary key; and the indexes): m001 is applied on users' machines and must never change.
M001_SCHEMA = {
    "users": [("id", "TEXT", 1, None, 1), ("lang", "TEXT", 0, None, 0), ("lang_chosen", "INTEGER", 0, "0", 0),
              ("flow_state", "TEXT", 0, None, 0), ("misses", "INTEGER", 0, "0", 0), ("recent", "TEXT", 0, None, 0),
              ("recent_topic", "TEXT", 0, None, 0), ("buttons", "TEXT", 0, None, 0), ("chat", "TEXT", 0, None, 0),
              ("created", "TEXT", 0, None, 0), ("seen", "TEXT", 0, None, 0)],
    "unanswered": [("id", "INTEGER", 0, None, 1), ("user", "TEXT", 0, None, 0), ("lang", "TEXT", 0, None, 0),
                   ("text", "TEXT", 0, None, 0), ("kind", "TEXT", 0, None, 0), ("candidates", "TEXT", 0, None, 0),
                   ("chosen", "TEXT", 0, None, 0), ("ts", "TEXT", 0, None, 0)],
    "feedback": [("id", "INTEGER", 0, None, 1), ("user", "TEXT", 0, None, 0), ("topic", "TEXT", 0, None, 0),
                 ("lang", "TEXT", 0, None, 0), ("vote", "INTEGER", 0, None, 0), ("ts", "TEXT", 0, None, 0)],
    "reminders": [("user", "TEXT", 0, None, 1), ("lang", "TEXT", 0, None, 0), ("chat", "TEXT", 0, None, 0),
                  ("due", "TEXT", 0, None, 0), ("sent", "TEXT", 0, None, 0), ("created", "TEXT", 0, None, 0)],
}
M001_INDEXES = {("unanswered", ("ts",)), ("unanswered", ("user",)), ("feedback", ("user",))}


def columns(db: sqlite_utils.Database, table: str) -> list[tuple]:
    return [tuple(row[1:]) for row in db.execute(f"PRAGMA table_info([{table}])").fetchall()]


def indexes(path_or_store) -> set[tuple[str, tuple[str, ...]]]:
    db = path_or_store.db if isinstance(path_or_store, Store) else sqlite_utils.Database(path_or_store)
    return {(t, tuple(i.columns)) for t in db.table_names() if not t.startswith("_")
            for i in db[t].indexes if not i.name.startswith("sqlite_autoindex")}


def first_schema_db(path: Path) -> None:
    """A database as the first socialbot left it: only m001 applied, with rows in every table."""
    db = sqlite_utils.Database(path)
    db.enable_wal()
    migrations.apply(db, stop_before=SECOND)
    assert [m.name for m in migrations.applied(db)] == [FIRST]
    db["users"].insert_all([
        {"id": "u1", "lang": "es", "lang_chosen": 1, "flow_state": json.dumps(PLACE), "misses": 1,
         "recent": json.dumps(["¿cuándo es la revisión anual?", f"mi número {GLUED}"], ensure_ascii=False),
         "recent_topic": "review-months", "buttons": json.dumps({"siguiente": "flow:annual_review:next@1"}),
         "chat": "42", "created": "2024-01-01T00:00:00+00:00", "seen": "2024-01-02T00:00:00+00:00"},
        {"id": "u2", "lang": "zh", "created": "2024-01-01T00:00:00+00:00", "seen": "2024-01-02T00:00:00+00:00"},
    ])
    db["unanswered"].insert_all([
        {"user": "u1", "lang": "es", "text": "¿puedo pagar con bizum?", "kind": "fallback", "candidates": "[]",
         "ts": "2024-01-02T00:00:00+00:00"},
        {"user": "u2", "lang": "zh", "text": f"电话{GLUED}怎么办", "kind": "suggest",
         "candidates": '["a", "b"]', "chosen": "b", "ts": "2024-01-03T00:00:00+00:00"},
    ])
    db["feedback"].insert({"user": "u1", "topic": "review-months", "lang": "es", "vote": -1,
                           "ts": "2024-01-02T00:00:00+00:00"})
    db["reminders"].insert({"user": "u2", "lang": "zh", "chat": "7", "due": "2024-09-01T01:00:00+00:00",
                            "sent": None, "created": "2024-01-02T00:00:00+00:00"})
    db.close()


def test_the_first_migration_never_changes(tmp_path):
    db = sqlite_utils.Database(tmp_path / "m001.db")
    migrations.apply(db, stop_before=SECOND)
    schema = {t: columns(db, t) for t in db.table_names() if not t.startswith("_")}
    db.close()
    assert schema == M001_SCHEMA
    assert indexes(tmp_path / "m001.db") == M001_INDEXES


def test_migrations_have_unique_names_in_order():
    assert len(NAMES) == len(set(NAMES)) and NAMES[0] == "m001_initial"
    assert NAMES == sorted(NAMES), "name new migrations mNNN_... so their order reads at a glance"


@pytest.mark.parametrize("where", ["memory", "file"])
def test_from_an_empty_database(tmp_path, where):
    store = Store(memory=True) if where == "memory" else Store(tmp_path / "new.db")
    assert store.applied_migrations() == NAMES
    assert set(store.db.table_names()) >= set(M001_SCHEMA)
    assert indexes(store) >= NEW_INDEXES
    assert store.check() == "ok"
    store.close()


def test_from_an_empty_file_made_by_someone_else(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # a zero-byte file
    store = Store(path)
    assert store.applied_migrations() == NAMES and store.db.journal_mode == "wal"
    store.close()


def test_from_the_first_schema_rows_are_kept_and_new_migrations_applied(tmp_path):
    path = tmp_path / "old.db"
    first_schema_db(path)
    assert not indexes(path) >= NEW_INDEXES

    store = Store(path)

    assert store.applied_migrations() == NAMES
    assert indexes(store) >= NEW_INDEXES
    u1, u2 = store.user("u1"), store.user("u2")
    assert (u1.lang, u1.lang_chosen, u1.flow_state, u1.misses, u1.chat) == ("es", True, PLACE, 1, "42")
    assert u1.buttons == {"siguiente": "flow:annual_review:next@1"} and u1.recent_topic == "review-months"
    assert u1.recent[0] == "¿cuándo es la revisión anual?"
    assert u2.lang == "zh" and u2.flow_state is None
    texts = {r["user"]: r for r in store.unanswered()}
    assert texts["u1"]["text"] == "¿puedo pagar con bizum?"
    assert (texts["u2"]["kind"], texts["u2"]["chosen"]) == ("suggest", "b")
    assert texts["u1"]["known"] is None  # m004's column, empty for what was stored before it
    assert [(r["user"], r["vote"]) for r in store.feedback()] == [("u1", -1)]
    assert [(r["user"], r["due"]) for r in store.reminders()] == [("u2", "2024-09-01T01:00:00+00:00")]
    # the new masker's catch is applied to what older versions stored
    dump = "\n".join(store.db.iterdump())
    assert GLUED not in dump and "13812345678" not in dump
    assert texts["u2"]["text"] == "电话[NUMBER:***002X]怎么办"
    assert u1.recent[1] == "mi número [NUMBER:***002X]"
    assert store.check() == "ok"
    store.close()


def test_a_migrated_database_serves_the_dialogue(tmp_path):
    from bot.dialogue import Dialogue

    path = tmp_path / "old.db"
    first_schema_db(path)
    store = Store(path)
    dialogue = Dialogue(store)
    reply = dialogue.say("u1", "siguiente")  # last seen long ago: asked whether to go on, at the same place
    assert (reply.kind, reply.flow, reply.step, reply.lang) == ("step", "annual_review", "alipay_city", "es")
    assert store.user("u1").flow_state["step"] == "alipay_city"
    assert dialogue.say("u2", "社保年审是几月份？").kind == "answer"
    store.close()


def test_opening_again_applies_nothing(tmp_path):
    path = tmp_path / "old.db"
    first_schema_db(path)
    Store(path).close()
    db = sqlite_utils.Database(path)
    stamps = [m.applied_at for m in migrations.applied(db)]
    db.close()
    store = Store(path)
    assert [m.applied_at for m in migrations.applied(store.db)] == stamps
    store.close()


def test_a_database_from_a_newer_socialbot_is_refused_with_a_clear_message(tmp_path):
    # Issue 13: served anyway, a newer schema (a column made NOT NULL, one renamed) failed every request.
    path = tmp_path / "newer.db"
    Store(path).close()
    db = sqlite_utils.Database(path)
    db["_sqlite_migrations"].insert({"migration_set": "socialbot", "name": "m999_from_the_future",
                                     "applied_at": "2030-01-01"})
    db["users"].add_column("future", str)
    db.close()
    with pytest.raises(StoreError, match="newer socialbot.*m999_from_the_future.*upgrade socialbot"):
        Store(path)
