"""`socialbot batch` on several cores: users are shared out among worker processes by a hash of
their id, and replies are written back in the order the requests came.

A user always lands on the same worker, so their place is never split or crossed; each worker is
an ordinary single-process `batch`. Used with the in-memory database only: with a file, the
single process keeps the guarantee that a reply is written as soon as its state is saved.

One thread and a selector move the bytes (no thread hand-overs on the way), so a lone request
waits no longer than in a single process.
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import zlib
from collections import deque
from typing import IO

from bot.channels.batch import error_reply

CHUNK = 1 << 16


def shard_of(line: bytes | str, shards: int) -> int:
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


class _Worker:
    def __init__(self, index: int):
        self.index = index
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "batch", "--workers", "1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=_die_with_parent)
        self.out = bytearray()  # requests not yet written to it
        self.replies: deque[bytes] = deque()  # whole reply lines read from it
        self.partial = b""
        self.closed = False  # its stdout ended
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)


def run(workers: int, stdin: IO[str], stdout: IO[str]) -> int:
    pool = [_Worker(n) for n in range(workers)]
    order: deque[int] = deque()  # the worker owing each reply, in request order
    sel = selectors.DefaultSelector()
    in_fd, out = stdin.fileno(), stdout.buffer if hasattr(stdout, "buffer") else stdout
    sel.register(in_fd, selectors.EVENT_READ, "stdin")
    for w in pool:
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)
    pending, eof, count = b"", False, 0
    writing: set[int] = set()  # workers whose stdin is registered: they have bytes still to take

    def send(w: _Worker) -> None:
        """Write what the worker can take now; wait for the selector only for the rest."""
        if w.out:
            try:
                del w.out[: os.write(w.proc.stdin.fileno(), w.out)]
            except BlockingIOError:
                pass
            except BrokenPipeError:  # it died: its requests get error lines when its output ends
                w.out.clear()
        if w.out and w.index not in writing:
            sel.register(w.proc.stdin, selectors.EVENT_WRITE, ("write", w))
            writing.add(w.index)
        elif not w.out and w.index in writing:
            sel.unregister(w.proc.stdin)
            writing.discard(w.index)

    while order or not eof:
        if eof:  # no more requests: a worker with nothing left to take is told so, and finishes
            for w in pool:
                if not w.out and not w.proc.stdin.closed:
                    w.proc.stdin.close()
        for key, _ in sel.select():
            if key.data == "stdin":
                chunk = os.read(in_fd, CHUNK)
                if not chunk:
                    eof = True
                    sel.unregister(in_fd)
                    chunk, pending = pending + (b"\n" if pending.strip() else b""), b""
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop() if not eof else b""
                for line in lines:
                    if not line.strip():
                        continue
                    w = pool[shard_of(line, workers)]
                    order.append(w.index)
                    w.out += line + b"\n"
                for w in pool:
                    if w.index not in writing:  # the others are already waiting for room
                        send(w)
            elif isinstance(key.data, tuple):
                send(key.data[1])
            else:
                w = key.data
                chunk = os.read(w.proc.stdout.fileno(), CHUNK)
                if not chunk:
                    w.closed = True
                    sel.unregister(w.proc.stdout)
                lines = (w.partial + chunk).split(b"\n")
                w.partial = lines.pop()
                w.replies.extend(line + b"\n" for line in lines)
        while order and (pool[order[0]].replies or pool[order[0]].closed):
            w = pool[order.popleft()]
            reply = w.replies.popleft() if w.replies else (
                json.dumps(error_reply({"error": "internal error: worker stopped"})) + "\n").encode()
            out.write(reply)
            count += 1
        out.flush()
    for w in pool:
        if not w.proc.stdin.closed:
            w.proc.stdin.close()
        w.proc.wait()
    return count
