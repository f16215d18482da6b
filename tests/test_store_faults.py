"""The database fails loudly and safely: a damaged file, a place it cannot write, a full disk or a
newer schema at start is one clear sentence and a non-zero exit (no traceback); a full disk while
running gets the user a reply that nothing can be saved now, and the operator a log line; a backup
never overwrites the live database's WAL or shared-memory file."""
from __future__ import annotations

import copy
import logging
import os
import resource
import subprocess
import sys

import pytest
import sqlite_utils

from bot.store import Store, StoreError
from tests.conftest import ROOT

REQUEST = b'{"user": "u1", "text": "when is the annual review?"}\n'


def socialbot(*args, stdin=REQUEST, preexec_fn=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALBOT_", "TELEGRAM_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, cwd=ROOT,
                          env=env, timeout=120, preexec_fn=preexec_fn)


def assert_one_clear_sentence(done, *words):
    err = done.stderr.decode()
    assert done.returncode != 0
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", [["batch", "--db"], ["chat", "--db"], ["report", "--db"]])
def test_a_damaged_database_file_is_one_sentence_and_a_non_zero_exit(tmp_path, command):
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is no SQLite file, whatever its name says " * 200)
    line = assert_one_clear_sentence(socialbot(*command, str(path)), "damaged", "socialbot db backup", str(path))
    assert line.startswith("socialbot: ")


def test_a_database_where_a_directory_cannot_be_made_is_one_sentence(tmp_path):
    (tmp_path / "file").write_text("a file, not a directory")
    assert_one_clear_sentence(socialbot("batch", "--db", str(tmp_path / "file" / "bot.db")), "cannot write",
                              "SOCIALBOT_DB")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory anyway")
def test_a_read_only_directory_is_one_sentence(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert_one_clear_sentence(socialbot("batch", "--db", str(ro / "bot.db")), "cannot write")
    finally:
        ro.chmod(0o700)


def _tiny_files():  # a disk with 4 KB left: every write past that fails (EFBIG, as ENOSPC would)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_full_disk_at_start_is_one_sentence(tmp_path):
    assert_one_clear_sentence(socialbot("batch", "--db", str(tmp_path / "bot.db"), preexec_fn=_tiny_files),
                              "full", "free some space")


def test_a_newer_schema_is_refused_by_the_command(tmp_path):
    path = tmp_path / "newer.db"
    Store(path).close()
    with sqlite_utils.Database(path) as db:
        db["_sqlite_migrations"].insert({"migration_set": "socialbot", "name": "m999_future", "applied_at": "2030"})
    assert_one_clear_sentence(socialbot("batch", "--db", str(path)), "newer socialbot", "upgrade")
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_a_full_disk_while_running_tells_the_user_and_the_operator(built_dialogue, tmp_path, caplog):
    store = Store(tmp_path / "bot.db")
    d = copy.copy(built_dialogue)
    d.store = store
    assert d.say("early", "when is the annual review?").kind == "answer"
    pages = store.db.execute("pragma page_count").fetchone()[0]
    store.db.execute(f"pragma max_page_count={pages}")  # the file may not grow: SQLite's own "disk is full"
    with pytest.raises(Exception, match="full"):
        for n in range(10_000):
            store.db.execute("insert into users (id, recent) values (?, ?)", (f"filler{n}", "x" * 300))
    with caplog.at_level(logging.ERROR):
        for lang, text in (("en", "when is the annual review?"), ("es", "¿cuándo es la revisión anual?"),
                           ("zh", "社保年审是几月份？")):
            reply = d.say(f"late-{lang}", text)
            assert reply.kind == "error" and reply.lang == lang
            assert reply.text == {"en": "Sorry, the service cannot save anything right now, so I could not "
                                        "take in your message. Please try again later.",
                                  "es": "Lo siento, ahora mismo el servicio no puede guardar nada, así que no "
                                        "he podido recoger su mensaje. Inténtelo más tarde.",
                                  "zh": "抱歉，系统现在无法保存，您的消息没有记下。请稍后再试。"}[lang]
    assert "the database cannot save" in caplog.text and "is full" in caplog.text
    store.db.execute(f"pragma max_page_count={pages * 100}")  # space again: served again
    assert d.say("late-en", "when is the annual review?").kind == "answer"
    store.close()


@pytest.mark.parametrize("end", ["-wal", "-shm"])
def test_a_backup_onto_the_live_wal_or_shm_is_refused(tmp_path, end):
    path = tmp_path / "bot.db"
    keep = Store(path)  # running: its -wal and -shm exist
    keep.save_user(keep.user("u1"))
    done = socialbot("db", "backup", str(path) + end, "--db", str(path), stdin=b"")
    assert_one_clear_sentence(done, "another file")
    assert keep.check() == "ok"
    keep.close()
    again = Store(path)
    assert again.check() == "ok" and again.user("u1").id == "u1"
    again.close()
