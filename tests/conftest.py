"""Shared fixtures: tiny, named, real objects (no mocks), in the habit of sqlite-utils' `fresh_db`.

- `fresh_store`: an in-memory Store;
- `file_store`: a Store in a file under tmp_path (WAL), closed after the test;
- `dialogue`: a Dialogue over a fresh in-memory store. The knowledge base, the procedures and
  the matcher are built once per session (that is the slow part); each test gets its own store,
  so no test sees another's users.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_store():
    store = Store(memory=True)
    yield store
    store.close()


@pytest.fixture
def file_store(tmp_path):
    store = Store(tmp_path / "socialbot.db")
    yield store
    store.close()


@pytest.fixture(scope="session")
def built_dialogue():
    """One Dialogue with the real knowledge base and procedures; tests copy it with a fresh store."""
    from bot.dialogue import Dialogue

    return Dialogue(Store(memory=True))


@pytest.fixture
def dialogue(built_dialogue):
    d = copy.copy(built_dialogue)  # shares the read-only kb, flows and matcher
    d.store = Store(memory=True)
    yield d
    d.store.close()


@pytest.fixture(scope="session")
def socialbot_cmd():
    """The `socialbot` command as argv, run with this interpreter (works without the venv's script)."""
    return [sys.executable, "-m", "bot.cli"]


class BatchProcess:
    """`socialbot batch` in a subprocess, spoken to one line at a time (a reply is read before the next request)."""

    TIMEOUT = 60  # a safety net against a hung child, not a speed check

    def __init__(self, argv, cwd, env):
        import queue
        import subprocess
        import tempfile
        import threading

        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        self.lines: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw)
        self.lines.put(None)  # end of output

    def write(self, data: str | bytes) -> None:
        self.proc.stdin.write(data.encode("utf-8") if isinstance(data, str) else data)
        self.proc.stdin.flush()

    def read_line(self) -> bytes | None:
        import queue

        try:
            return self.lines.get(timeout=self.TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no reply line from socialbot batch; stderr: {self.errors()}") from None

    def read_json(self) -> dict:
        import json

        raw = self.read_line()
        assert raw is not None, f"socialbot batch ended early; stderr: {self.errors()}"
        assert raw.endswith(b"\n")
        return json.loads(raw.decode("utf-8"))

    def ask(self, request) -> dict:
        """Send one request (a dict is dumped as JSON, a str is sent as is) and read its one reply."""
        import json

        line = request if isinstance(request, (str, bytes)) else json.dumps(request, ensure_ascii=False)
        self.write(line if (line.endswith("\n") if isinstance(line, str) else line.endswith(b"\n"))
                   else line + ("\n" if isinstance(line, str) else b"\n"))
        return self.read_json()

    def close(self) -> int:
        """Close stdin (EOF), wait for the exit code, and check nothing more was written."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=self.TIMEOUT)
        self.reader.join(timeout=self.TIMEOUT)
        return code

    def rest(self) -> list[bytes]:
        """Every line written after the last one read (call after close())."""
        out = []
        while not self.lines.empty():
            item = self.lines.get_nowait()
            if item is not None:
                out.append(item)
        return out

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-2000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _spawn(socialbot_cmd, args, cwd=None, env=None) -> BatchProcess:
    import os

    environment = dict(os.environ if env is None else env)
    environment.setdefault("PYTHONIOENCODING", "utf-8")
    return BatchProcess([*socialbot_cmd, "batch", *args], cwd or ROOT, environment)


def _end(proc: BatchProcess) -> None:
    proc.kill()
    proc.stderr.close()


@pytest.fixture
def start_batch(socialbot_cmd):
    """start_batch(*args, cwd=None, env=None) -> BatchProcess; every process is ended after the test."""
    started = []

    def start(*args, cwd=None, env=None):
        started.append(_spawn(socialbot_cmd, args, cwd, env))
        return started[-1]

    yield start
    for proc in started:
        _end(proc)


@pytest.fixture(scope="module")
def shared_batch(socialbot_cmd):
    """One `socialbot batch` (in-memory) for a whole module: tests use their own user ids."""
    proc = _spawn(socialbot_cmd, ())
    yield proc
    _end(proc)
