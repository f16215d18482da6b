"""Everything socialbot remembers, in one SQLite file (WAL mode), through sqlite-utils.

This is the only module that touches the database. Schema changes are migrations, so an
old database opens with a newer socialbot. Text is stored only after personal numbers are
masked (the callers pass masked text; `record_*` masks again as a safety net).
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.privacy import mask

migrations = Migrations("socialbot")
RECENT = 5  # questions kept per user, for the summary a person can show at the counter


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["users"].create(
        {"id": str, "lang": str, "lang_chosen": int, "flow_state": str, "misses": int,
         "recent": str, "recent_topic": str, "buttons": str, "chat": str, "created": str, "seen": str},
        pk="id", not_null={"id"}, defaults={"lang_chosen": 0, "misses": 0},
    )
    db["unanswered"].create(
        {"id": int, "user": str, "lang": str, "text": str, "kind": str, "candidates": str,
         "chosen": str, "ts": str},
        pk="id",
    )
    db["unanswered"].create_index(["ts"])
    db["unanswered"].create_index(["user"])
    db["feedback"].create(
        {"id": int, "user": str, "topic": str, "lang": str, "vote": int, "ts": str}, pk="id"
    )
    db["feedback"].create_index(["user"])
    db["reminders"].create(
        {"user": str, "lang": str, "chat": str, "due": str, "sent": str, "created": str}, pk="user"
    )


def now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None = None) -> str:
    return (moment or now()).isoformat(timespec="seconds")


@dataclass
class UserRow:
    id: str
    lang: str | None = None
    lang_chosen: bool = False
    flow_state: dict | None = None
    misses: int = 0
    recent: list[str] = field(default_factory=list)  # the last questions, masked
    recent_topic: str | None = None  # the last topic answered, for a typed 👍 / 👎
    buttons: dict[str, str] = field(default_factory=dict)  # last reply's labels -> ids, so typing a label presses it
    chat: str | None = None  # where a reminder goes (Telegram chat id)
    seen: str | None = None


def default_path() -> Path:
    if os.environ.get("SOCIALBOT_DB"):
        return Path(os.environ["SOCIALBOT_DB"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "socialbot" / "socialbot.db"


class Store:
    """One database; safe to share between threads (one lock around the connection)."""

    def __init__(self, path: str | Path | None = None, *, memory: bool = False):
        if memory:
            self.db = sqlite_utils.Database(memory=True)
        else:
            path = Path(path) if path else default_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(path, check_same_thread=False)
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=5000")
        self.path = None if memory else path
        self.lock = threading.RLock()
        with self.lock:
            migrations.apply(self.db)

    # -- users -----------------------------------------------------------------------
    def user(self, user_id: str) -> UserRow:
        with self.lock:
            row = self.db.execute(
                "select lang, lang_chosen, flow_state, misses, recent, recent_topic, buttons, chat, seen"
                " from users where id = ?", [user_id]
            ).fetchone()
        if row is None:
            return UserRow(user_id)
        lang, chosen, flow_state, misses, recent, recent_topic, buttons, chat, seen = row
        return UserRow(user_id, lang, bool(chosen), json.loads(flow_state) if flow_state else None, misses or 0,
                       json.loads(recent) if recent else [], recent_topic, json.loads(buttons) if buttons else {},
                       chat, seen)

    def save_user(self, user: UserRow) -> None:
        stamp = _iso()
        with self.lock, self.db.conn:
            self.db.execute(
                """insert into users (id, lang, lang_chosen, flow_state, misses, recent, recent_topic, buttons,
                   chat, created, seen) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   on conflict(id) do update set lang = excluded.lang, lang_chosen = excluded.lang_chosen,
                   flow_state = excluded.flow_state, misses = excluded.misses, recent = excluded.recent,
                   recent_topic = excluded.recent_topic, buttons = excluded.buttons,
                   chat = coalesce(excluded.chat, users.chat), seen = excluded.seen""",
                [user.id, user.lang, int(user.lang_chosen),
                 json.dumps(user.flow_state, ensure_ascii=False) if user.flow_state else None,
                 user.misses, json.dumps(user.recent[-RECENT:], ensure_ascii=False), user.recent_topic,
                 json.dumps(user.buttons, ensure_ascii=False) if user.buttons else None, user.chat, stamp, stamp],
            )
        user.seen = stamp

    def forget(self, user_id: str) -> None:
        """Erase everything held about a user, in one transaction."""
        with self.lock, self.db.conn:
            for table in ("users", "unanswered", "feedback"):
                self.db.execute(f"delete from {table} where {'id' if table == 'users' else 'user'} = ?", [user_id])
            self.db.execute("delete from reminders where user = ?", [user_id])

    def holds(self, user_id: str) -> int:
        """How many rows mention a user (0 after forget)."""
        with self.lock:
            return sum(
                self.db.execute(f"select count(*) from {t} where {c} = ?", [user_id]).fetchone()[0]
                for t, c in (("users", "id"), ("unanswered", "user"), ("feedback", "user"), ("reminders", "user"))
            )

    # -- what curators read ----------------------------------------------------------------
    def record_unanswered(self, user_id: str, lang: str, text: str, kind: str, candidates: list[str]) -> int:
        with self.lock, self.db.conn:
            cur = self.db.execute(
                "insert into unanswered (user, lang, text, kind, candidates, ts) values (?, ?, ?, ?, ?, ?)",
                [user_id, lang, mask(text)[:2000], kind, json.dumps(candidates), _iso()],
            )
            return cur.lastrowid

    def record_choice(self, user_id: str, topic: str) -> None:
        """The topic a user picked from a "did you mean" list, on their latest such question."""
        with self.lock, self.db.conn:
            self.db.execute(
                """update unanswered set chosen = ? where id = (select max(id) from unanswered
                   where user = ? and kind = 'suggest' and chosen is null)""",
                [topic, user_id],
            )

    def record_feedback(self, user_id: str, topic: str, lang: str, vote: int) -> None:
        with self.lock, self.db.conn:
            self.db.execute(
                "insert into feedback (user, topic, lang, vote, ts) values (?, ?, ?, ?, ?)",
                [user_id, topic, lang, 1 if vote > 0 else -1, _iso()],
            )

    def unanswered(self, since_days: int | None = None, lang: str | None = None) -> list[dict]:
        return self._rows("unanswered", since_days, lang)

    def feedback(self, since_days: int | None = None, lang: str | None = None) -> list[dict]:
        return self._rows("feedback", since_days, lang)

    def _rows(self, table: str, since_days: int | None, lang: str | None) -> list[dict]:
        where, args = ["1 = 1"], []
        if since_days is not None:
            where.append("ts >= ?")
            args.append(_iso(now() - timedelta(days=since_days)))
        if lang:
            where.append("lang = ?")
            args.append(lang)
        with self.lock:
            return list(self.db[table].rows_where(" and ".join(where), args, order_by="id"))

    def purge(self, older_than_days: int) -> int:
        """Drop stored questions and feedback older than the retention period."""
        cutoff = _iso(now() - timedelta(days=older_than_days))
        with self.lock, self.db.conn:
            gone = self.db.execute("delete from unanswered where ts < ?", [cutoff]).rowcount
            gone += self.db.execute("delete from feedback where ts < ?", [cutoff]).rowcount
        return gone

    # -- reminders ---------------------------------------------------------------------------
    def set_reminder(self, user_id: str, lang: str, chat: str | None, due: datetime) -> None:
        with self.lock, self.db.conn:
            self.db["reminders"].upsert(
                {"user": user_id, "lang": lang, "chat": chat, "due": _iso(due), "sent": None, "created": _iso()},
                pk="user",
            )

    def cancel_reminder(self, user_id: str) -> bool:
        with self.lock, self.db.conn:
            return self.db.execute("delete from reminders where user = ?", [user_id]).rowcount > 0

    def reminders(self, pending_only: bool = True) -> list[dict]:
        with self.lock:
            where = "sent is null" if pending_only else "1 = 1"
            return list(self.db["reminders"].rows_where(where, order_by="due"))

    def mark_reminder_sent(self, user_id: str, next_due: datetime | None = None) -> None:
        with self.lock, self.db.conn:
            if next_due is None:
                self.db.execute("update reminders set sent = ? where user = ?", [_iso(), user_id])
            else:
                self.db.execute("update reminders set due = ?, sent = null where user = ?", [_iso(next_due), user_id])

    # -- operations -----------------------------------------------------------------------------
    def backup(self, target: str | Path) -> None:
        """A consistent copy while the bot runs (SQLite's online backup API)."""
        import sqlite3

        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, sqlite3.connect(target) as dest:
            self.db.conn.backup(dest)

    def close(self) -> None:
        with self.lock:
            self.db.close()
