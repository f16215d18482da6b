"""`socialbot batch` on several cores: users are shared out among worker processes by a hash of
their id, and replies are written back in the order the requests came.

A user always lands on the same worker, so their place is never split or crossed; each worker is
an ordinary single-process `batch`. Used with the in-memory database only: with a file, the
single process keeps the guarantee that a reply is written as soon as its state is saved.

One thread and a selector move the bytes (no thread hand-overs on the way), so a lone request
waits no longer than in a single process. A regular file on stdin cannot be watched by a selector
(epoll refuses it): it is always readable, so it is read directly, as far ahead as MAX_AHEAD.

Parent and workers must agree on which lines are requests, or every later reply is one off: both
split on "\\n" only and skip exactly the lines `batch.blank` calls blank. A worker that dies is
replaced and the requests it had not answered are sent to the new one; the request it died on is
tried once more, then answered with an error line (so a line that kills workers cannot kill them all).
"""
from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import zlib
from collections import deque
from typing import IO

from bot.channels.batch import blank, error_reply, parse

CHUNK = 1 << 16
MAX_AHEAD = 1 << 22  # bytes of requests read ahead of the workers from a regular file
TRIES = 2  # times a request is given to a worker before it is answered with an error
log = logging.getLogger(__name__)


def shard_of(line: bytes | str, shards: int) -> int:
    """The worker a request line goes to: by its user, so one user's messages stay in order."""
    request, _ = parse(line)
    user = request.get("user") if isinstance(request, dict) else None
    return zlib.crc32(str(user).encode("utf-8", "surrogatepass")) % shards


def _die_with_parent() -> None:
    """A worker must not outlive the process that reads its replies (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _error_line(problem: str) -> bytes:
    return (json.dumps(error_reply({"error": problem}), ensure_ascii=False) + "\n").encode()


class _Worker:
    def __init__(self, index: int):
        self.index = index
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "batch", "--workers", "1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=_die_with_parent)
        self.out = bytearray()  # requests not yet written to it
        self.waiting: deque[list] = deque()  # [request line, tries] given to it and not yet answered
        self.replies: deque[bytes] = deque()  # whole reply lines read from it
        self.partial = b""
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)


def run(workers: int, stdin: IO[str], stdout: IO[str]) -> int:
    pool = [_Worker(n) for n in range(workers)]
    order: deque[int] = deque()  # the worker owing each reply, in request order
    sel = selectors.DefaultSelector()
    in_fd, out = stdin.fileno(), stdout.buffer if hasattr(stdout, "buffer") else stdout
    try:
        sel.register(in_fd, selectors.EVENT_READ, "stdin")
        from_file = False
    except PermissionError:  # a regular file: always readable, so read directly
        from_file = True
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
            except (BrokenPipeError, ValueError):  # it died: replaced when its output ends
                w.out.clear()
        if w.out and w.index not in writing:
            sel.register(w.proc.stdin, selectors.EVENT_WRITE, ("write", w))
            writing.add(w.index)
        elif not w.out and w.index in writing:
            sel.unregister(w.proc.stdin)
            writing.discard(w.index)

    def take(chunk: bytes) -> None:
        """Share out the whole request lines read so far."""
        nonlocal pending, eof
        if not chunk:
            eof = True
            chunk, pending = pending + (b"\n" if pending.strip() else b""), b""
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop() if not eof else b""
        for line in lines:
            if blank(line):
                continue
            w = pool[shard_of(line, workers)]
            order.append(w.index)
            w.waiting.append([line + b"\n", 0])
            w.out += line + b"\n"
        for w in pool:
            if w.index not in writing:  # the others are already waiting for room
                send(w)

    def replace(w: _Worker) -> None:
        """A worker ended owing replies: a new one takes its unanswered requests."""
        if w.index in writing:
            sel.unregister(w.proc.stdin)
            writing.discard(w.index)
        w.proc.kill()
        code = w.proc.wait()
        for pipe in (w.proc.stdin, w.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        log.warning("batch worker %d stopped (exit %s) with %d request(s) unanswered; starting another",
                    w.index, code, len(w.waiting))
        head = w.waiting[0] if w.waiting else [b"", 0]
        head[1] += 1
        if w.waiting and head[1] >= TRIES:  # the request it was answering stopped two workers: it gets an error
            w.waiting.popleft()
            w.replies.append(_error_line("internal error: this request stopped its worker"))
        new = _Worker(w.index)
        new.waiting, new.replies = w.waiting, w.replies
        new.out += b"".join(line for line, _ in new.waiting)
        pool[w.index] = new
        sel.register(new.proc.stdout, selectors.EVENT_READ, new)
        send(new)

    while order or not eof:
        if eof:  # no more requests: a worker with nothing left to take is told so, and finishes
            for w in pool:
                if not w.out and not w.proc.stdin.closed:
                    w.proc.stdin.close()
        ahead = from_file and not eof and sum(len(w.out) for w in pool) < MAX_AHEAD
        if ahead:
            take(os.read(in_fd, CHUNK))
        for key, _ in sel.select(0 if ahead else None):
            if key.data == "stdin":
                chunk = os.read(in_fd, CHUNK)
                if not chunk:
                    sel.unregister(in_fd)
                take(chunk)
            elif isinstance(key.data, tuple):
                if pool[key.data[1].index] is key.data[1]:
                    send(key.data[1])
            else:
                w = key.data
                if pool[w.index] is not w:  # replaced earlier in this round
                    continue
                chunk = os.read(w.proc.stdout.fileno(), CHUNK)
                lines = (w.partial + chunk).split(b"\n")
                w.partial = lines.pop()
                for line in lines:
                    w.replies.append(line + b"\n")
                    if w.waiting:
                        w.waiting.popleft()
                if not chunk:
                    sel.unregister(w.proc.stdout)
                    if w.waiting or not w.proc.stdin.closed:  # it was not told to finish: it died
                        replace(w)
        while order and pool[order[0]].replies:
            out.write(pool[order.popleft()].replies.popleft())
            count += 1
        out.flush()
    for w in pool:
        if not w.proc.stdin.closed:
            w.proc.stdin.close()
        w.proc.wait()
    return count
