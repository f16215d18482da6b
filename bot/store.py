"""Everything socialbot remembers, in one SQLite file (WAL mode), through sqlite-utils.

This is the only module that touches the database. Schema changes are migrations, so an
old database opens with a newer socialbot: add a new `@migrations()` function at the end,
never edit an applied one. Text is stored only after personal numbers are masked (the
callers pass masked text; `record_*` masks again as a safety net).

Concurrency: one Store is safe to share between threads (one lock around its connection);
several Stores, in one process or several, may open the same file. Every write is one statement
(atomic on its own) or one short `BEGIN IMMEDIATE` transaction, so writers queue on SQLite's lock
(up to BUSY_TIMEOUT) instead of failing half-way, and a write is committed before the caller
answers the user (WAL with synchronous=NORMAL survives a killed process; only a power cut can cost
the last commits).
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.privacy import mask

log = logging.getLogger(__name__)

migrations = Migrations("socialbot")
RECENT = 5  # questions kept per user, for the summary a person can show at the counter
RETENTION_DAYS = 90  # stored questions and feedback are purged after this (SOCIALBOT_RETENTION_DAYS)
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another one before giving up
MAX_TEXT = 2000  # characters of a question kept for curators
# Every table that mentions a user, and the column that does: what /forget erases.
USER_TABLES = (("users", "id"), ("unanswered", "user"), ("feedback", "user"), ("reminders", "user"),
               ("doubted", "user"), ("telegram_kept", "user"), ("telegram_steps", "user"))
# What a sent Telegram message still offers ("More…", "Read more") is kept this long: a press on an
# older message says it is old (Telegram keeps a chat's messages for ever; we need not).
KEEP_OFFERS = timedelta(days=30)
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# -- migrations: append only -------------------------------------------------------------------
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


@migrations()
def m002_indexes(db: sqlite_utils.Database) -> None:
    """What retention, reminders and the report look rows up by. (Not users.seen: it changes with
    every message, and keeping an index on it costs more per message than a rare purge saves.)"""
    db["feedback"].create_index(["ts"], if_not_exists=True)
    db["feedback"].create_index(["topic"], if_not_exists=True)
    db["reminders"].create_index(["due"], if_not_exists=True)


@migrations()
def m003_remask(db: sqlite_utils.Database) -> None:
    """Mask stored text again: the masker now also catches digit runs longer than 19 (a phone glued
    to an ID), which older versions kept in clear. mask() is idempotent, so this is safe to rerun."""
    for row_id, text in db.execute("select id, text from unanswered where text is not null").fetchall():
        masked = mask(text)
        if masked != text:
            db.execute("update unanswered set text = ? where id = ?", [masked, row_id])
    for user_id, recent in db.execute("select id, recent from users where recent is not null").fetchall():
        old = _loads(recent, [])
        if isinstance(old, list):
            new = [mask(q) if isinstance(q, str) else q for q in old]
            if new != old:
                db.execute("update users set recent = ? where id = ?", [json.dumps(new, ensure_ascii=False), user_id])


@migrations()
def m004_known_gap(db: sqlite_utils.Database) -> None:
    """Which known gap an unanswered question fell into (an uncovered or out-of-scope topic), so the
    report can tell curators what people ask that the documents do not answer."""
    db["unanswered"].add_column("known", str)


@migrations()
def m005_settings_and_updates(db: sqlite_utils.Database) -> None:
    """Operator switches every running channel reads (the pause switch), and the Telegram updates
    already handled, so an update Telegram delivers again after a restart is not applied twice."""
    db["settings"].create({"key": str, "value": str, "ts": str}, pk="key")
    db["telegram_updates"].create({"bot": int, "id": int, "ts": str}, pk=("bot", "id"))
    db["telegram_updates"].create_index(["ts"])


@migrations()
def m006_parked_place(db: sqlite_utils.Database) -> None:
    """The procedure a user left (cancelled, or switched away from), so Undo or "go back to where I
    was" puts them back exactly there; erased with the users row by /forget."""
    db["users"].add_column("parked", str)


@migrations()
def m007_one_vote_per_answer(db: sqlite_utils.Database) -> None:
    """One vote per user per answer: a 👎 typed a thousand times is one 👎 (the latest vote counts),
    so no one can push a topic up or down the curators' report alone."""
    db.execute("delete from feedback where id not in (select max(id) from feedback group by user, topic)")
    db.execute("create unique index if not exists feedback_user_topic on feedback (user, topic)")


@migrations()
def m008_doubted_answers(db: sqlite_utils.Database) -> None:
    """Likely wrong answers: an answer followed at once by a rephrasing, a 👎 or "that's not what I
    asked" (why), with the question answered and what came after it, masked, for the report."""
    db["doubted"].create({"id": int, "user": str, "lang": str, "topic": str, "question": str, "why": str,
                          "followup": str, "ts": str}, pk="id")
    db["doubted"].create_index(["user"])
    db["doubted"].create_index(["ts"])


@migrations()
def m009_telegram_offers(db: sqlite_utils.Database) -> None:
    """What a Telegram message offers beyond its keyboard, so a press still works after a restart:
    the options "More…" hides and the rest of an answer behind "Read more" (telegram_kept, by chat and
    message), and which message shows each user's current step (telegram_steps), so a new one can
    retire its keyboard. Erased with the user by /forget, and after KEEP_OFFERS."""
    db["telegram_kept"].create({"chat": int, "message": int, "kind": str, "user": str, "lang": str,
                                "value": str, "ts": str}, pk=("chat", "message", "kind"))
    db["telegram_kept"].create_index(["user"])
    db["telegram_kept"].create_index(["ts"])
    db["telegram_steps"].create({"chat": int, "user": str, "message": int, "ts": str}, pk=("chat", "user"))
    db["telegram_steps"].create_index(["user"])
    db["telegram_steps"].create_index(["ts"])


# -- values --------------------------------------------------------------------------------------
# What a "did you mean" question chose when the user pressed "None of these" (no topic id has brackets).
NONE_OF_THESE = "(none of these)"


def now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None = None) -> str:
    """A moment as stored: UTC, to the second, ISO 8601, so stored times compare as strings."""
    moment = moment or now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _iso_second(math.floor(moment.timestamp()))


@lru_cache(maxsize=8)  # every message stamps its user's row: within one second, one string
def _iso_second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


@lru_cache(maxsize=1024)  # the same few sets of buttons (an answer's, a step's) are saved again and again
def _json_pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return _json(dict(pairs))


@lru_cache(maxsize=4096)  # a user's last questions, masked (again: a safety net) and encoded
def _recent_json(recent: tuple[str, ...], chats: tuple[str | None, ...] = ()) -> str:
    """A question asked in private is stored as a string (as before groups were told apart); one asked in
    a group as [question, group]."""
    chats = ((None,) * len(recent) + chats)[-len(recent):] if recent else ()
    return _json([mask(q) if chat is None else [mask(q), chat] for q, chat in zip(recent, chats)])


def _recent_parts(raw) -> tuple[list[str], list[str | None]]:
    if not isinstance(raw, list):
        return [], []
    texts, chats = [], []
    for item in raw:
        if isinstance(item, str):
            texts.append(item)
            chats.append(None)
        elif isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            texts.append(item[0])
            chats.append(item[1] if isinstance(item[1], str) else None)
    return texts, chats if any(chats) else []


def _loads(raw: str | None, default):
    """A stored JSON value, or `default` when it is missing or unreadable (a row edited by hand
    must not lock its user out: they lose that one field, not every future answer)."""
    if not raw:
        return default
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        log.warning("unreadable JSON in the store; using the default")
        return default


def _masked(value):
    """Every string in a JSON-like value, masked (button ids are left as they are: they name content)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "id" else _masked(v)) for k, v in value.items()}
    return value


def retention_days(env: dict | None = None) -> int:
    """SOCIALBOT_RETENTION_DAYS (a whole number of days, 0 or more), else RETENTION_DAYS."""
    raw = (env if env is not None else os.environ).get("SOCIALBOT_RETENTION_DAYS", "")
    try:
        days = int(str(raw).strip())
    except ValueError:
        return RETENTION_DAYS
    return days if days >= 0 else RETENTION_DAYS


@dataclass
class UserRow:
    id: str
    lang: str | None = None
    lang_chosen: bool = False
    flow_state: dict | None = None
    misses: int = 0
    recent: list[str] = field(default_factory=list)  # the last questions, masked
    recent_chats: list[str | None] = field(default_factory=list)  # the group each was asked in (None: private)
    recent_topic: str | None = None  # the last topic answered, for a typed 👍 / 👎
    buttons: dict[str, str] = field(default_factory=dict)  # last reply's labels -> ids, so typing a label presses it
    chat: str | None = None  # where a reminder goes (Telegram chat id)
    seen: str | None = None
    parked: dict | None = None  # the place in a procedure they left, to go back to

    def remember(self, question: str, group: str | None = None) -> None:
        """A question asked (masked), and the group chat it was asked in, if any."""
        chats = ([None] * len(self.recent) + self.recent_chats)[-len(self.recent):] if self.recent else []
        self.recent = (self.recent + [question])[-RECENT:]
        self.recent_chats = (chats + [group])[-RECENT:]

    def asked_in(self, group: str | None) -> list[str]:
        """The recent questions fit to show where the user is now: in a group, only what was asked in
        that group (what they asked in private, or in another group, is not the group's to read)."""
        if group is None:
            return self.recent[-RECENT:]
        chats = ([None] * len(self.recent) + self.recent_chats)[-len(self.recent):] if self.recent else []
        return [q for q, chat in zip(self.recent, chats) if chat == group][-RECENT:]


MAX_ID = 128  # characters of a user id stored as it is


def user_key(user_id: str) -> str:
    """The key a user is stored under: their id, unless it is too long or cannot be stored as UTF-8
    (a lone surrogate): then a digest of it, so every id is served and no row holds megabytes of id."""
    if len(user_id) <= MAX_ID:
        try:
            user_id.encode("utf-8")
            return user_id
        except UnicodeEncodeError:
            pass
    return "~" + hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class StoreError(Exception):
    """The database cannot be used; the message says, in one sentence, what is wrong and what to do."""


class StoreUnavailable(StoreError):
    """A write failed while running (a full disk, a file made read-only, an I/O error): nothing of
    that message was saved, and the user should be told so."""


_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def explain(err: BaseException, path) -> str:
    """What an error opening or writing the database means for an operator, and what to do."""
    text = str(err).lower()
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (f"the database {path} is damaged or is not a socialbot database: restore the copy made by "
                f"`socialbot db backup` to that path, or move the file away to start with an empty one")
    if "full" in text or isinstance(err, OSError) and err.errno in _FULL:
        return f"the disk holding the database {path} is full: free some space, then start socialbot again"
    if "disk i/o" in text:
        return (f"the database {path} cannot be written (disk I/O error): the disk may be full or failing; "
                f"free some space or check the disk, then start socialbot again")
    if "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(
            err, (PermissionError, NotADirectoryError, FileExistsError, IsADirectoryError)):
        return (f"socialbot cannot write the database {path} (the file or its directory is read-only or not "
                f"a directory): give it write access, or set SOCIALBOT_DB to a writable file")
    return (f"the database {path} cannot be used ({err}): check the file and its disk, or restore the copy "
            f"made by `socialbot db backup`")


def _write_failed(err: sqlite3.Error) -> bool:
    """A write error that is about the disk, not the statement: the service cannot save right now."""
    text = str(err).lower()
    return any(w in text for w in ("full", "readonly", "read-only", "disk i/o", "unable to open", "locked"))


def default_path() -> Path:
    if os.environ.get("SOCIALBOT_DB"):
        return Path(os.environ["SOCIALBOT_DB"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "socialbot" / "socialbot.db"


class Store:
    """One database; safe to share between threads (one lock around the connection)."""

    def __init__(self, path: str | Path | None = None, *, memory: bool = False):
        self.path = None if memory else (Path(path) if path else default_path())
        conn = None
        try:
            if memory:
                conn = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=BUSY_TIMEOUT)
            self._open(conn, memory)
        except StoreError:
            if conn is not None:
                conn.close()
            raise
        except (sqlite3.Error, OSError) as err:  # one clear sentence for the operator, not a traceback
            if conn is not None:
                conn.close()
            raise StoreError(explain(err, self.path or ":memory:")) from None

    def _open(self, conn: sqlite3.Connection, memory: bool) -> None:
        # No implicit transactions: a single statement commits on its own, and a multi-statement write
        # says BEGIN IMMEDIATE itself (sqlite-utils' own atomic() says BEGIN as well).
        conn.isolation_level = None
        # No sqlite-utils plugins: whatever else is installed must not run code on citizens' data, and
        # finding plugins reads every installed package's metadata (~40 ms of every start).
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self.lock = threading.RLock()
        with self.lock:
            if not memory:
                self.db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
                self.db.enable_wal()
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA secure_delete=ON")  # an erased row is overwritten, not left in a free page
            self._refuse_newer()
            self._migrate()

    def _refuse_newer(self) -> None:
        """A database a newer socialbot has migrated further than this one knows is refused whole:
        serving it would fail on every request, or worse, write rows the newer schema does not expect."""
        known = {m.name for m in migrations._migrations}  # sqlite-utils keeps the registered ones there
        unknown = sorted({m.name for m in migrations.applied(self.db)} - known)
        if unknown:
            raise StoreError(f"the database {self.path} was written by a newer socialbot (schema steps "
                             f"{', '.join(unknown)} are unknown to this version): upgrade socialbot, or set "
                             f"SOCIALBOT_DB to a backup made by this version")

    def _migrate(self) -> None:
        """Apply pending migrations once, even when several processes open a new file together."""
        if not migrations.pending(self.db):
            return
        with self._write():  # the write lock first: a second opener waits, then finds nothing pending
            migrations.apply(self.db)

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction: all of it is committed, or none of it."""
        with self.lock:
            conn = self.db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                if _write_failed(err):
                    raise self._unavailable(err) from err
                raise

    def _unavailable(self, err: sqlite3.Error) -> StoreUnavailable:
        """A write the disk refused, as StoreUnavailable, with one log line for the operator."""
        log.error("the database cannot save: %s", explain(err, self.path or ":memory:"))
        return StoreUnavailable(explain(err, self.path or ":memory:"))

    def _write1(self, sql: str, args=()) -> sqlite3.Cursor:
        """One write statement, committed on its own (atomic: SQLite runs it as its own transaction)."""
        with self.lock:
            try:
                return self.db.conn.execute(sql, args)
            except sqlite3.Error as err:
                if _write_failed(err):
                    raise self._unavailable(err) from err
                raise

    # -- users -----------------------------------------------------------------------
    def user(self, user_id: str) -> UserRow:
        with self.lock:
            row = self.db.conn.execute(
                "select lang, lang_chosen, flow_state, misses, recent, recent_topic, buttons, chat, seen, parked"
                " from users where id = ?", (user_key(user_id),)
            ).fetchone()
        if row is None:
            return UserRow(user_id)
        lang, chosen, flow_state, misses, recent, recent_topic, buttons, chat, seen, parked = row
        flow_state, recent, buttons = _loads(flow_state, None), _loads(recent, []), _loads(buttons, {})
        parked = _loads(parked, None)
        recent, recent_chats = _recent_parts(recent)
        return UserRow(user_id, lang, bool(chosen), flow_state if isinstance(flow_state, dict) else None,
                       misses or 0, recent, recent_chats, recent_topic,
                       buttons if isinstance(buttons, dict) else {}, chat, seen,
                       parked if isinstance(parked, dict) else None)

    def save_user(self, user: UserRow, at: datetime | None = None) -> None:
        """Write a user's row; `at` is when they were seen (the dialogue's clock, so tests can move it)."""
        stamp = _iso(at)
        self._write1(
            """insert into users (id, lang, lang_chosen, flow_state, misses, recent, recent_topic, buttons,
               chat, created, seen, parked) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               on conflict(id) do update set lang = excluded.lang, lang_chosen = excluded.lang_chosen,
               flow_state = excluded.flow_state, misses = excluded.misses, recent = excluded.recent,
               recent_topic = excluded.recent_topic, buttons = excluded.buttons,
               chat = coalesce(excluded.chat, users.chat), seen = excluded.seen, parked = excluded.parked""",
            (user_key(user.id), user.lang, int(user.lang_chosen), _json(user.flow_state) if user.flow_state else None,
             user.misses, _recent_json(tuple(user.recent[-RECENT:]), tuple(user.recent_chats[-RECENT:])),
             user.recent_topic, _json_pairs(tuple(user.buttons.items())) if user.buttons else None, user.chat,
             stamp, stamp, _json(user.parked) if user.parked else None),
        )
        user.seen = stamp

    def forget(self, user_id: str) -> None:
        """Erase everything held about a user, in one transaction."""
        user_id = user_key(user_id)
        with self._write() as db:
            for table, column in USER_TABLES:
                db.execute(f"delete from {table} where {column} = ?", [user_id])
        if self.path is not None:  # the WAL still holds the pages as they were: fold it in and empty it
            with self.lock:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def holds(self, user_id: str) -> int:
        """How many rows mention a user (0 after forget)."""
        user_id = user_key(user_id)
        with self.lock:
            return sum(
                self.db.execute(f"select count(*) from {table} where {column} = ?", [user_id]).fetchone()[0]
                for table, column in USER_TABLES
            )

    # -- what curators read ----------------------------------------------------------------
    def record_unanswered(self, user_id: str, lang: str, text: str, kind: str, candidates: list[str],
                          known: str | None = None) -> int:
        """A fallback or a "did you mean" (kind), with the topics that were offered, and the known gap
        (an uncovered or out-of-scope topic) it fell into, if any."""
        user_id = user_key(user_id)
        return self._write1(
            "insert into unanswered (user, lang, text, kind, candidates, ts, known) values (?, ?, ?, ?, ?, ?, ?)",
            (user_id, lang, mask(text)[:MAX_TEXT], kind, json.dumps(list(candidates)), _iso(), known),
        ).lastrowid

    def record_choice(self, user_id: str, topic: str) -> None:
        """The topic a user picked from a "did you mean" list, on their latest such question
        (NONE_OF_THESE when they said none of them is what they asked)."""
        user_id = user_key(user_id)
        self._write1(
            """update unanswered set chosen = ? where id = (select max(id) from unanswered
               where user = ? and kind = 'suggest' and chosen is null)""",
            (topic, user_id),
        )

    def record_feedback(self, user_id: str, topic: str, lang: str, vote: int) -> None:
        """A 👍 (vote > 0) or 👎 under an answer: one per user and answer, the latest replacing the last."""
        user_id = user_key(user_id)
        self._write1(
            """insert into feedback (user, topic, lang, vote, ts) values (?, ?, ?, ?, ?)
               on conflict(user, topic) do update set lang = excluded.lang, vote = excluded.vote, ts = excluded.ts""",
            (user_id, topic, lang, 1 if vote > 0 else -1, _iso()),
        )

    def record_doubt(self, user_id: str, lang: str, topic: str, question: str | None, why: str,
                     followup: str) -> None:
        """An answer the user's next message says was likely wrong (see bot.doubts)."""
        user_id = user_key(user_id)
        self._write1(
            "insert into doubted (user, lang, topic, question, why, followup, ts) values (?, ?, ?, ?, ?, ?, ?)",
            (user_id, lang, topic, mask(question or "")[:MAX_TEXT], why, mask(followup)[:MAX_TEXT], _iso()),
        )

    def doubted(self, since_days: int | None = None, lang: str | None = None) -> list[dict]:
        return self._rows("doubted", since_days, lang)

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

    def purge(self, older_than_days: int | None = None, *, at: datetime | None = None) -> int:
        """Drop stored questions and feedback older than the retention period (by default
        SOCIALBOT_RETENTION_DAYS, else 90 days), and the recent questions of users not seen since.
        Returns how many rows were deleted. Places in procedures and reminders are kept."""
        days = retention_days() if older_than_days is None else older_than_days
        cutoff = _iso((at or now()) - timedelta(days=days))
        with self._write() as db:
            gone = db.execute("delete from unanswered where ts < ?", [cutoff]).rowcount
            gone += db.execute("delete from feedback where ts < ?", [cutoff]).rowcount
            gone += db.execute("delete from doubted where ts < ?", [cutoff]).rowcount
            db.execute("update users set recent = null where recent is not null and seen < ?", [cutoff])
        return gone

    # -- reminders ---------------------------------------------------------------------------
    def set_reminder(self, user_id: str, lang: str, chat: str | None, due: datetime) -> None:
        user_id = user_key(user_id)
        self._write1(
            """insert into reminders (user, lang, chat, due, sent, created) values (?, ?, ?, ?, null, ?)
               on conflict(user) do update set lang = excluded.lang,
               chat = coalesce(excluded.chat, reminders.chat), due = excluded.due, sent = null""",
            (user_id, lang, chat, _iso(due), _iso()),
        )

    def cancel_reminder(self, user_id: str) -> bool:
        user_id = user_key(user_id)
        return self._write1("delete from reminders where user = ?", (user_id,)).rowcount > 0

    def reminder(self, user_id: str) -> dict | None:
        user_id = user_key(user_id)
        with self.lock:
            rows = list(self.db["reminders"].rows_where("user = ?", [user_id]))
        return rows[0] if rows else None

    def reminders(self, pending_only: bool = True) -> list[dict]:
        with self.lock:
            where = "sent is null" if pending_only else "1 = 1"
            return list(self.db["reminders"].rows_where(where, order_by="due"))

    def due_reminders(self, at: datetime | None = None) -> list[dict]:
        """Pending reminders whose time has come (due <= at), oldest first."""
        with self.lock:
            return list(self.db["reminders"].rows_where("sent is null and due <= ?", [_iso(at)], order_by="due"))

    def mark_reminder_sent(self, user_id: str, next_due: datetime | None = None) -> None:
        """Sent: either done for good, or (next_due) moved on to the next window."""
        user_id = user_key(user_id)
        if next_due is None:
            self._write1("update reminders set sent = ? where user = ?", (_iso(), user_id))
        else:
            self._write1("update reminders set due = ?, sent = null where user = ?", (_iso(next_due), user_id))

    # -- operator switches and handled updates ---------------------------------------------
    def setting(self, key: str) -> str | None:
        with self.lock:
            row = self.db.conn.execute("select value from settings where key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str | None) -> None:
        """Set (or, with None, remove) an operator switch; every Store on the file sees it at once."""
        if value is None:
            self._write1("delete from settings where key = ?", (key,))
        else:
            self._write1("insert into settings (key, value, ts) values (?, ?, ?) on conflict(key) do update"
                         " set value = excluded.value, ts = excluded.ts", (key, value, _iso()))

    def claim_update(self, bot: int, update_id: int) -> bool:
        """True the first time a bot's update is claimed, False ever after (it was handled already)."""
        return self._write1("insert or ignore into telegram_updates (bot, id, ts) values (?, ?, ?)",
                            (bot, update_id, _iso())).rowcount == 1

    def forget_updates(self, before: datetime) -> int:
        """Drop handled update ids claimed before `before` (Telegram redelivers for a day at most)."""
        return self._write1("delete from telegram_updates where ts < ?", (_iso(before),)).rowcount

    # -- what Telegram messages offer ------------------------------------------------------------
    def keep_offer(self, chat: int, message: int, kind: str, user: str, lang: str, value) -> None:
        """What a sent message offers of `kind` ("menu": the buttons "More…" hides; "rest": the rest of an
        answer), as JSON. Its text is masked (a safety net: it is drawn from content)."""
        self._write1(
            """insert into telegram_kept (chat, message, kind, user, lang, value, ts) values (?, ?, ?, ?, ?, ?, ?)
               on conflict(chat, message, kind) do update set user = excluded.user, lang = excluded.lang,
               value = excluded.value, ts = excluded.ts""",
            (chat, message, kind, user_key(user), lang, _json(_masked(value)), _iso()),
        )

    def offer(self, chat: int, message: int, kind: str, *, take: bool = False) -> tuple[object, str] | None:
        """(value, lang) a message offers of `kind`, or None when it was never kept or is gone;
        `take` removes it (a rest is sent once)."""
        with self.lock:
            row = self.db.conn.execute("select value, lang from telegram_kept where chat = ? and message = ?"
                                       " and kind = ?", (chat, message, kind)).fetchone()
        if row is None:
            return None
        if take:
            self._write1("delete from telegram_kept where chat = ? and message = ? and kind = ?", (chat, message, kind))
        return _loads(row[0], None), row[1]

    def drop_offer(self, chat: int, message: int, kind: str) -> None:
        self._write1("delete from telegram_kept where chat = ? and message = ? and kind = ?", (chat, message, kind))

    def step_message(self, chat: int, user: str) -> int | None:
        """The message that shows a user's current step in a chat, if known."""
        with self.lock:
            row = self.db.conn.execute("select message from telegram_steps where chat = ? and user = ?",
                                       (chat, user_key(user))).fetchone()
        return row[0] if row else None

    def set_step_message(self, chat: int, user: str, message: int | None) -> None:
        if message is None:
            self._write1("delete from telegram_steps where chat = ? and user = ?", (chat, user_key(user)))
            return
        self._write1("""insert into telegram_steps (chat, user, message, ts) values (?, ?, ?, ?)
                        on conflict(chat, user) do update set message = excluded.message, ts = excluded.ts""",
                     (chat, user_key(user), message, _iso()))

    def forget_offers(self, before: datetime) -> int:
        """Drop what messages sent before `before` offer (KEEP_OFFERS): their presses then say they are old."""
        with self._write() as db:
            gone = db.execute("delete from telegram_kept where ts < ?", [_iso(before)]).rowcount
            return gone + db.execute("delete from telegram_steps where ts < ?", [_iso(before)]).rowcount

    # -- operations -----------------------------------------------------------------------------
    def backup(self, target: str | Path) -> None:
        """A consistent copy while the bot runs (SQLite's online backup API, in one step, so the
        copy is one snapshot even while other connections write). The copy appears whole or not at all."""
        target = Path(target)
        if self.path is not None:
            live = Path(self.path).resolve()
            own = {live, *(live.with_name(live.name + end) for end in ("-wal", "-shm", "-journal"))}
            if target.resolve() in own:  # writing there would destroy the live database
                raise ValueError(f"the backup must go to another file than the database {self.path} "
                                 f"and its {target.resolve().name[len(live.name):] or 'file'}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            with self.lock, closing(sqlite3.connect(str(partial))) as dest:
                self.db.conn.backup(dest)
                dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def alive(self) -> bool:
        """The database answers a query (a health check: cheap, unlike check())."""
        with self.lock:
            return self.db.execute("select 1").fetchone() == (1,)

    def check(self) -> str:
        """SQLite's integrity check: "ok" when the file is sound."""
        with self.lock:
            return "; ".join(row[0] for row in self.db.execute("PRAGMA integrity_check").fetchall())

    def applied_migrations(self) -> list[str]:
        with self.lock:
            return [m.name for m in migrations.applied(self.db)]

    def close(self) -> None:
        with self.lock:
            self.db.close()
