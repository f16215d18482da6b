"""bot/logs.py: one filter on every handler keeps personal numbers and the bot's secrets out of the log,
whichever channel runs and whichever library writes the line."""
from __future__ import annotations

import io
import logging
import os
import subprocess
import sys

import pytest

from bot import logs
from tests.fake_bot_api import TOKEN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ID_NUMBER, PHONE, CARD = "11010519491231002X", "13812345678", "6222021234567890128"


@pytest.fixture
def written():
    """What a root handler writes, with the one filter installed as `socialbot` installs it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    flt = logs.install(TOKEN, "webhook-secret-123")
    yield out
    logs.remove(flt)
    root.removeHandler(handler)
    root.level = level


def test_a_record_with_the_token_and_an_id_number_comes_out_redacted(written):
    logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/sendMessage for %s", TOKEN, ID_NUMBER)
    try:
        raise RuntimeError(f"failed calling {TOKEN.split(':')[1]} for {PHONE}, card {CARD}, secret webhook-secret-123")
    except RuntimeError:
        logging.getLogger("telegram.ext").exception("while handling an update")
    out = written.getvalue()
    for secret in (TOKEN, TOKEN.split(":")[1], "webhook-secret-123", ID_NUMBER, ID_NUMBER[:17], PHONE, CARD):
        assert secret not in out, out
    assert out.count(logs.REDACTED) >= 3 and "[ID:***002X]" in out and "[PHONE:***5678]" in out
    assert "[CARD:***0128]" in out
    assert "RuntimeError" in out and "while handling an update" in out  # the rest of the line is kept


def test_installing_again_adds_secrets_not_a_second_filter(written):
    again = logs.install("another-secret-456")
    handler = logging.getLogger().handlers[-1]
    assert sum(isinstance(f, logs.Redact) for f in handler.filters) == 1
    assert again in handler.filters and again in logging.lastResort.filters
    logging.getLogger("bot").warning("%s and %s", TOKEN, "another-secret-456")
    assert written.getvalue().strip() == f"bot: {logs.REDACTED} and {logs.REDACTED}"


def test_short_or_empty_secrets_blank_nothing(written):
    logs.install("", None, "abc")
    logging.getLogger("bot").warning("abc is a word")
    assert written.getvalue().strip() == "bot: abc is a word"


def test_every_socialbot_command_installs_it_from_the_environment(tmp_path):
    """Any command (here `socialbot flows list`) at DEBUG: the token set for Telegram and an ID number
    never reach stderr, though a line logs both."""
    script = ("import logging, sys; from bot import cli; "
              f"sys.argv = ['socialbot', 'flows', 'list']; code = cli.main(); "
              f"logging.getLogger('x').warning('token %s id %s', {TOKEN!r}, {ID_NUMBER!r}); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "SOCIALBOT_LOG": "DEBUG"})
    assert done.returncode == 0, done.stderr
    assert "token [REDACTED] id [ID:***002X]" in done.stderr
    assert TOKEN not in done.stderr and ID_NUMBER not in done.stderr
