"""Lines that once ended `socialbot batch` (and lost every later request): each gets one reply
line and the run goes on, with one process and with `--workers 2`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

DEEP = "[" * 1000 + "]" * 1000
HUGE_INT = '{"user": "h1", "text": "hello", "ignored": ' + "9" * 5000 + "}"
DEEP_IN_FIELD = '{"user": "h2", "text": "hi", "x": ' + "[" * 1000 + "]" * 1000 + "}"
# Lines that are no request: skipped by the single process, so the workers' parent must skip them too.
WHITE = ["\u3000", "\u00a0", "\u2028", "\u3000 \u00a0\t", "\x1c", "\r"]
GOOD = {"user": "g1", "text": "¿en qué meses es la revisión anual?"}


def script() -> str:
    lines = [DEEP, json.dumps(GOOD, ensure_ascii=False), HUGE_INT, *WHITE, DEEP_IN_FIELD,
             json.dumps({"user": "g2", "text": "what is the annual review"})]
    lines.insert(4, "{\"user\": \"g3\", \"text\": \"hello\"}\r{\"user\": \"g4\", \"text\": \"hi\"}")
    return "".join(line + "\n" for line in lines)


def run(args, text: str | None = None, stdin=None) -> list[dict]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch", *args], input=text, stdin=stdin, cwd=ROOT,
                          env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return [json.loads(line) for line in done.stdout.decode().splitlines()]


def check(replies: list[dict]) -> None:
    assert len(replies) == 6, replies  # DEEP, GOOD, HUGE_INT, the \r line (one request), DEEP_IN_FIELD, g2
    assert "error" in replies[0] and replies[0]["kind"] == "error"
    assert replies[1]["user"] == "g1" and replies[1]["topic"]
    assert "error" in replies[2] and "4300" in replies[2]["error"]
    assert "error" in replies[3]  # "\r" does not end a line: one unreadable request
    assert "error" in replies[4] and "deep" in replies[4]["error"]
    assert replies[5]["user"] == "g2" and "error" not in replies[5]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_crashers_and_white_space_lines_each_keep_the_protocol(workers):
    check(run(["--workers", workers], script().encode()))


def test_workers_read_a_regular_file_on_stdin(tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text(script(), encoding="utf-8")
    with path.open("rb") as f:
        check(run(["--workers", "2"], stdin=f))


def test_workers_answer_as_one_process_on_crashers():
    assert run(["--workers", "2"], script().encode()) == run(["--workers", "1"], script().encode())


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"),
                    reason="needs Linux /proc children lists to find the workers")
def test_a_worker_that_dies_is_replaced_and_its_requests_answered(start_batch):
    batch = start_batch("--workers", "2")
    assert batch.ask({"user": "k1", "text": "hello"})["kind"] != "error"
    workers = _children(batch.proc.pid)
    assert len(workers) == 2
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(os.path.exists(f"/proc/{pid}/status") and "zombie" not in open(f"/proc/{pid}/status").read()
              for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.01)  # the kill has landed before the next request is sent
    users = [f"k{n}" for n in range(2, 10)]
    for user in users:
        batch.write(json.dumps({"user": user, "text": "what is the annual review"}) + "\n")
    replies = [batch.read_json() for _ in users]
    assert [r["user"] for r in replies] == users
    assert all("error" not in r and r["kind"] != "error" for r in replies), replies
    assert batch.close() == 0
    assert "worker" in batch.errors()  # the operator is told
