"""`socialbot batch` on several cores: users are shared out among worker processes by a hash of
their id, and replies are written back in the order the requests came.

A user always lands on the same worker, so their place is never split or crossed; each worker is
an ordinary single-process `batch`. Used with the in-memory database only: with a file, the
single process keeps the guarantee that a reply is written as soon as its state is saved.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import zlib
from typing import IO

from bot.channels.batch import error_reply

_DONE = object()


def shard_of(line: str, shards: int) -> int:
    """The worker a request line goes to: by its user, so one user's messages stay in order."""
    try:
        request = json.loads(line)
        user = request.get("user") if isinstance(request, dict) else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        user = None
    return zlib.crc32(str(user).encode("utf-8", "surrogatepass")) % shards


def _die_with_parent() -> None:
    """A worker must not outlive the process that reads its replies (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def run(workers: int, stdin: IO[str], stdout: IO[str]) -> int:
    command = [sys.executable, "-m", "bot.cli", "batch", "--workers", "1"]
    procs = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
                         errors="backslashreplace", bufsize=1, preexec_fn=_die_with_parent)
        for _ in range(workers)
    ]
    order: queue.Queue = queue.Queue()

    def dispatch() -> None:
        try:
            for line in stdin:
                if not line.strip():
                    continue
                shard = shard_of(line, workers)
                order.put(shard)  # queued before it is sent: the reader only waits for sent requests
                procs[shard].stdin.write(line if line.endswith("\n") else line + "\n")
        except (BrokenPipeError, OSError):
            pass
        finally:
            order.put(_DONE)
            for proc in procs:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

    threading.Thread(target=dispatch, daemon=True).start()
    count = 0
    while (shard := order.get()) is not _DONE:
        reply = procs[shard].stdout.readline()
        if not reply:  # a worker died: still one line for this request, and the others go on
            reply = json.dumps(error_reply({"error": "internal error: worker stopped"}), ensure_ascii=False) + "\n"
        stdout.write(reply)
        stdout.flush()
        count += 1
    for proc in procs:
        proc.wait()
    return count
