"""`socialbot batch` on several worker processes answers exactly as one process does, in order."""
from __future__ import annotations

import json
import subprocess
import sys

from bot.channels.batch_shards import shard_of

SCRIPT = [
    {"user": "u1", "text": "guide me step by step through the annual review on my phone"},
    {"user": "u2", "text": "¿en qué meses es la revisión anual?"},
    "this line is not JSON",
    {"user": "u3", "text": "一步一步教我用社保客户端给公司申报"},
    {"user": "u1", "text": "Alipay"},
    {"user": "u3", "text": "下一步"},
    {"user": "u2", "text": "gracias"},
    {"user": "u1", "text": "next"},
    {"text": "no user here"},
    {"user": "u3", "text": "上一步"},
    {"user": "u1", "text": "back"},
]


def run_batch(workers: int) -> list[dict]:
    lines = "".join((json.dumps(r, ensure_ascii=False) if isinstance(r, dict) else r) + "\n\n" for r in SCRIPT)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch", "--workers", str(workers)], input=lines,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_two_workers_answer_exactly_as_one_process():
    one, two = run_batch(1), run_batch(2)
    assert len(one) == len(SCRIPT)  # one line per request, blank lines skipped
    assert one == two


def test_replies_come_back_in_request_order_with_places_kept():
    replies = run_batch(3)
    assert [r.get("user") for r in replies] == [r.get("user") if isinstance(r, dict) else None for r in SCRIPT]
    assert "error" in replies[2] and "error" in replies[8]
    u1 = [r for r in replies if r["user"] == "u1"]
    assert [r["flow"] for r in u1] == ["annual_review"] * 4
    assert u1[1]["step"] != u1[0]["step"] and u1[3]["step"] == u1[1]["step"]  # Alipay, next, back


def test_one_user_always_goes_to_the_same_worker():
    line = json.dumps({"user": "someone", "text": "hello"})
    assert len({shard_of(line, 4) for _ in range(5)}) == 1
    assert shard_of(json.dumps({"user": "someone", "text": "other"}), 4) == shard_of(line, 4)
    assert 0 <= shard_of("not json", 4) < 4
