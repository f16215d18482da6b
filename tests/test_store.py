"""bot/store.py: rows round-trip, WAL on disk, a place survives kill -9, concurrent writers never
corrupt or lose a row, and a backup is one consistent, readable snapshot while others write."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.buttons import step_tag
from bot.store import RECENT, Store, UserRow, _iso, migrations
from bot.store import now as now_utc

ROOT = Path(__file__).resolve().parent.parent
PLACE = {"v": 1, "flow": "annual_review", "step": "alipay_city", "path": ["route", "alipay_more"], "ticked": [],
         "status": "active"}


@pytest.fixture
def mem(fresh_store):
    return fresh_store


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "socialbot.db"


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def count(path: Path, sql: str, args=()) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


# -- rows ------------------------------------------------------------------------------------------
def test_unknown_user_is_a_fresh_row(mem):
    row = mem.user("nobody")
    assert row == UserRow("nobody") and mem.holds("nobody") == 0


def test_user_round_trip(mem):
    row = UserRow("u1", lang="es", lang_chosen=True, flow_state=PLACE, misses=1, recent=["¿cuándo?"],
                  recent_topic="review-months", buttons={"siguiente": "flow:annual_review:next@1"}, chat="42")
    mem.save_user(row)
    back = mem.user("u1")
    assert back.seen and back == UserRow(**{**row.__dict__, "seen": back.seen})


def test_seen_is_the_moment_given_not_the_wall_clock(mem):
    """The dialogue passes its own clock's time; `seen` is that moment, not when the row was written."""
    at = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
    row = UserRow("u1", lang="es")
    mem.save_user(row, at=at)
    assert row.seen == mem.user("u1").seen == _iso(at)
    mem.save_user(mem.user("u1"), at=at + timedelta(hours=13))
    assert mem.user("u1").seen == _iso(at + timedelta(hours=13))


def test_recent_is_masked_and_capped_on_save(mem):
    row = UserRow("u1", recent=[f"q{i}" for i in range(RECENT)] + ["my phone is 13812345678"])
    mem.save_user(row)
    recent = mem.user("u1").recent
    assert len(recent) == RECENT and recent[-1] == "my phone is [PHONE:***5678]"


def test_chat_is_kept_when_a_later_message_has_none(mem):
    mem.save_user(UserRow("u1", chat="42"))
    mem.save_user(UserRow("u1", lang="zh"))
    assert mem.user("u1").chat == "42"


def test_a_row_edited_by_hand_does_not_lock_its_user_out(mem):
    mem.save_user(UserRow("u1", lang="zh", flow_state=PLACE))
    mem.db.execute("update users set flow_state = '{broken', recent = '[1,', buttons = '\"x\"' where id = 'u1'")
    mem.db.conn.commit()
    row = mem.user("u1")
    assert (row.lang, row.flow_state, row.recent, row.buttons) == ("zh", None, [], {})


def test_questions_are_masked_and_cut(mem):
    mem.record_unanswered("u1", "en", "id 11010519491231002X " + "x" * 5000, "fallback", ["a", "b"])
    (row,) = mem.unanswered()
    assert row["text"].startswith("id [ID:***002X] ") and len(row["text"]) == 2000
    assert json.loads(row["candidates"]) == ["a", "b"]


def test_what_a_telegram_message_offers_is_kept_masked_taken_once_and_forgotten(db_path):
    store = Store(db_path)
    store.keep_offer(7, 70, "rest", "u1", "es", "llame al 13800138000")
    store.keep_offer(7, 71, "menu", "u1", "en", [{"label": "Pay", "id": "flow:personal_payment:start"}])
    store.set_step_message(7, "u1", 72)
    store.close()
    store = Store(db_path)  # another process, later
    assert store.offer(7, 70, "rest") == ("llame al [PHONE:***8000]", "es")
    assert store.offer(7, 70, "rest", take=True) is not None and store.offer(7, 70, "rest") is None
    assert store.offer(7, 71, "menu") == ([{"label": "Pay", "id": "flow:personal_payment:start"}], "en")
    assert store.offer(7, 71, "rest") is None and store.offer(8, 71, "menu") is None
    assert store.step_message(7, "u1") == 72 and store.step_message(7, "u2") is None
    assert store.forget_offers(now_utc() - timedelta(days=1)) == 0  # nothing that old
    store.forget("u1")
    assert store.offer(7, 71, "menu") is None and store.step_message(7, "u1") is None and store.holds("u1") == 0
    store.close()
    assert count(db_path, "select count(*) from telegram_kept where value like '%13800138000%'") == 0


def test_choice_goes_to_the_latest_open_suggestion(mem):
    mem.record_unanswered("u1", "en", "first", "suggest", ["a", "b"])
    mem.record_unanswered("u1", "en", "a miss", "fallback", [])
    mem.record_unanswered("u1", "en", "second", "suggest", ["c", "d"])
    mem.record_unanswered("u2", "en", "someone else", "suggest", ["c", "d"])
    mem.record_choice("u1", "d")
    mem.record_choice("u1", "a")
    chosen = {r["text"]: r["chosen"] for r in mem.unanswered()}
    assert chosen == {"first": "a", "a miss": None, "second": "d", "someone else": None}


def test_rows_by_language_and_age(mem):
    mem.record_feedback("u1", "t", "en", 1)
    mem.record_feedback("u2", "t", "zh", -7)
    mem.db.execute("update feedback set ts = ? where user = 'u1'", [_iso(datetime.now(timezone.utc) - timedelta(days=10))])
    mem.db.conn.commit()
    assert [r["vote"] for r in mem.feedback()] == [1, -1]
    assert [r["user"] for r in mem.feedback(lang="zh")] == ["u2"]
    assert [r["user"] for r in mem.feedback(since_days=5)] == ["u2"]


def test_times_are_stored_in_utc():
    shanghai = timezone(timedelta(hours=8))
    assert _iso(datetime(2025, 9, 1, 9, 0, tzinfo=shanghai)) == "2025-09-01T01:00:00+00:00"
    assert _iso(datetime(2025, 9, 1, 1, 0)) == "2025-09-01T01:00:00+00:00"  # naive: taken as UTC


def test_memory_store_serves_other_threads(mem):
    errors = []

    def work():
        try:
            mem.save_user(UserRow("t", lang="en"))
        except Exception as err:  # pragma: no cover - the failure is the assertion below
            errors.append(err)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert not errors and mem.user("t").lang == "en"


# -- on disk ---------------------------------------------------------------------------------------
def test_file_store_is_wal_and_survives_reopening(db_path):
    store = Store(db_path)
    assert store.db.journal_mode == "wal"
    store.save_user(UserRow("u1", lang="es", flow_state=PLACE))
    store.close()
    again = Store(db_path)
    assert again.user("u1").flow_state == PLACE and again.check() == "ok"
    again.close()


def test_default_path_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALBOT_DB", str(tmp_path / "env" / "bot.db"))
    store = Store()
    assert store.path == tmp_path / "env" / "bot.db" and store.path.exists()
    store.close()


def batch(db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "batch", "--db", str(db)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", bufsize=1)


def ask(proc: subprocess.Popen, request: dict) -> dict:
    proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.poll() is not None else "no reply"
    return json.loads(line)


def test_place_survives_kill_9(db_path):
    proc = batch(db_path)
    try:
        assert ask(proc, {"user": "u", "text": "¿Cuándo es la revisión anual?"})["lang"] == "es"
        assert ask(proc, {"user": "u", "button": "flow:annual_review:start"})["step"] == "route"
        reply = ask(proc, {"user": "u", "button": "flow:annual_review:choose:alipay" + step_tag("route")})
        assert (reply["flow"], reply["step"], reply["lang"]) == ("annual_review", "alipay_more", "es")
        # others keep writing while the process is killed
        proc.stdin.write("".join(json.dumps({"user": f"o{i}", "text": "¿Cuándo es la revisión anual?"},
                                            ensure_ascii=False) + "\n" for i in range(200)))
        proc.stdin.flush()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdin.close(), proc.stdout.close(), proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    assert integrity(db_path) == "ok"
    store = Store(db_path)
    row = store.user("u")
    store.close()
    assert (row.flow_state["flow"], row.flow_state["step"], row.lang) == ("annual_review", "alipay_more", "es")

    again = batch(db_path)
    try:
        reply = ask(again, {"user": "u", "text": "siguiente"})
        assert (reply["flow"], reply["step"], reply["lang"]) == ("annual_review", "alipay_city", "es")
    finally:
        again.stdin.close()
        again.wait(timeout=30)
        again.stdout.close(), again.stderr.close()


# -- concurrent writers ----------------------------------------------------------------------------
def write_users(store: Store, prefix: str, n: int) -> None:
    for i in range(n):
        user = f"{prefix}-{i}"
        store.save_user(UserRow(user, lang="zh", flow_state={**PLACE, "step": f"s{i}"}, recent=[f"q {i}"]))
        store.record_unanswered(user, "zh", f"question {i}", "fallback", [])
        store.record_feedback(user, "review-months", "zh", 1 if i % 2 else -1)


def check_all_rows(path: Path, prefixes: list[str], n: int) -> None:
    assert integrity(path) == "ok"
    store = Store(path)
    try:
        for prefix in prefixes:
            for i in range(n):
                row = store.user(f"{prefix}-{i}")
                assert row.flow_state and row.flow_state["step"] == f"s{i}", (prefix, i)
                assert store.holds(f"{prefix}-{i}") == 3
        total = len(prefixes) * n
        assert count(path, "select count(*) from users") == total
        assert count(path, "select count(*) from unanswered") == total
        assert count(path, "select count(*) from feedback") == total
    finally:
        store.close()


def run_threads(target, args_list) -> None:
    errors = []

    def guarded(*args):
        try:
            target(*args)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_threads_sharing_one_store(db_path):
    store = Store(db_path)
    prefixes = [f"t{k}" for k in range(8)]
    run_threads(write_users, [(store, p, 150) for p in prefixes])
    store.close()
    check_all_rows(db_path, prefixes, 150)


def test_threads_each_with_its_own_connection(db_path):
    prefixes = [f"c{k}" for k in range(6)]

    def own(prefix):
        store = Store(db_path)
        try:
            write_users(store, prefix, 150)
        finally:
            store.close()

    run_threads(own, [(p,) for p in prefixes])
    check_all_rows(db_path, prefixes, 150)


WRITER = """
import sys
from bot.store import Store, UserRow
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
place = %r
sys.stdin.readline()  # go: every process opens the new file at the same moment
store = Store(path)
for i in range(n):
    user = f"{prefix}-{i}"
    store.save_user(UserRow(user, lang="zh", flow_state={**place, "step": f"s{i}"}, recent=[f"q {i}"]))
    store.record_unanswered(user, "zh", f"question {i}", "fallback", [])
    store.record_feedback(user, "review-months", "zh", 1 if i %% 2 else -1)
store.close()
print("done", flush=True)
""" % (PLACE,)


def test_two_processes_writing_one_new_file(db_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), f"p{k}", "400"], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(2)]
    outs = [p.communicate("go\n", timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0 and out.strip() == "done", err[-2000:]
    check_all_rows(db_path, ["p0", "p1"], 400)
    store = Store(db_path)
    applied = store.applied_migrations()
    store.close()
    assert applied == [m.name for m in migrations._migrations]  # each applied once, in order


# -- backup ----------------------------------------------------------------------------------------
class PairWriter(threading.Thread):
    """Writes a user row and its feedback row in one transaction, again and again, on its own connection:
    a consistent snapshot always holds as many of one as of the other."""

    def __init__(self, path: Path):
        super().__init__()
        self.path, self.stop, self.written, self.error = path, threading.Event(), 0, None
        self.going = threading.Event()  # set once writes are under way

    def run(self):
        store = Store(self.path)
        try:
            while not self.stop.is_set() or self.written < 200:
                with store._write() as db:
                    db.execute("insert into users (id, lang, seen) values (?, 'en', ?)", [f"w{self.written}", _iso()])
                    db.execute("insert into feedback (user, topic, lang, vote, ts) values (?, 't', 'en', 1, ?)",
                               [f"w{self.written}", _iso()])
                self.written += 1
                if self.written == 50:
                    self.going.set()
        except BaseException as err:  # pragma: no cover - reported by the test
            self.error = err
        finally:
            store.close()


def check_copy(copy: Path, at_least: int) -> int:
    assert integrity(copy) == "ok"
    users = count(copy, "select count(*) from users where id like 'w%'")
    assert users == count(copy, "select count(*) from feedback where user like 'w%'")  # no torn transaction
    assert users >= at_least
    store = Store(copy)  # opens with socialbot itself
    assert store.check() == "ok"
    store.close()
    return users


def test_backup_while_another_connection_writes(db_path, tmp_path):
    store = Store(db_path)
    store.save_user(UserRow("keep", lang="zh", flow_state=PLACE))
    writer = PairWriter(db_path)
    writer.start()
    assert writer.going.wait(timeout=60)
    try:
        sizes = []
        for k in range(3):
            before = count(db_path, "select count(*) from users where id like 'w%'")
            store.backup(tmp_path / "backups" / f"copy{k}.db")
            sizes.append(check_copy(tmp_path / "backups" / f"copy{k}.db", before))
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None
    copy = Store(tmp_path / "backups" / "copy2.db")
    assert copy.user("keep").flow_state == PLACE
    copy.close()
    store.close()
    assert not list((tmp_path / "backups").glob("*.partial"))


def test_backup_command_while_the_bot_writes(db_path, tmp_path):
    Store(db_path).close()
    writer = PairWriter(db_path)
    writer.start()
    assert writer.going.wait(timeout=60)
    try:
        done = subprocess.run([sys.executable, "-m", "bot.cli", "db", "backup", str(tmp_path / "copy.db"),
                               "--db", str(db_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        writer.stop.set()
        writer.join()
    assert done.returncode == 0, done.stderr
    assert writer.error is None
    check_copy(tmp_path / "copy.db", 0)


def test_backup_never_overwrites_the_database_itself(db_path):
    store = Store(db_path)
    with pytest.raises(ValueError):
        store.backup(db_path)
    assert store.check() == "ok"
    store.close()


def test_backup_of_a_memory_store(mem, tmp_path):
    mem.save_user(UserRow("u", lang="es"))
    mem.backup(tmp_path / "copy.db")
    copy = Store(tmp_path / "copy.db")
    assert copy.user("u").lang == "es"
    copy.close()


def test_no_sqlite_utils_plugin_runs_on_our_database():
    """Whatever else is installed must not run code on citizens' data (nor slow every start down)."""
    code = ("from bot.store import Store; Store(memory=True); import sqlite_utils.plugins as p; "
            "print(p._plugins_loaded)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr
