#!/usr/bin/env python3
"""The speed figures the project targets, measured on the real `socialbot batch` command.

    .venv/bin/python bench/speed.py                       # the venv's socialbot, the real questions
    .venv/bin/python bench/speed.py --rounds 9 --starts 9 --cmd "socialbot batch --db /tmp/x.db"

Every figure comes from `socialbot batch` run in a subprocess and spoken to over its pipes, as
../shared/eval/score.py does; nothing of the bot is imported here. The questions are those real
people wrote (bench/real/*.jsonl, --questions for others): none is a knowledge-base variant, and
every figure below counts each text once per process, so no cache keyed on a text answers it.

  first reply      process start -> the reply to its first message (a real question, another one in
                   each start), median of --starts fresh processes, three ways: the cache directory as a
                   run before left it (warm); holding the model snapshot only, so the knowledge base's
                   vectors are computed at start, as after a content change (vectors cold); and, once
                   per --fresh starts, empty, as on a new machine (the model snapshot is made too).
  latency          every question once, one at a time (send, wait for the reply, send the next), each from
                   a new user, after a "hello", in each of --rounds fresh processes: p50 / p99 / max in ms
                   over all of them, round trip through the pipes, and the median of each process's p99.
  throughput       every question once, written as fast as the pipe takes them while replies are read, in
                   each of --rounds fresh processes: messages/s from the first request written to the last
                   reply read; the median of the processes.
  repeated texts   -n requests cycling the questions, so that caches keyed on the text (rankings,
                   normalisation, question vectors) answer most of them: messages/s, and the peak RSS
                   (VmHWM from /proc/<pid>/status before the process exits).

On a shared machine seconds swing by two or three times within minutes: compare medians of runs made
one after the other, or count instructions (--instructions), which do not swing.

    .venv/bin/python bench/speed.py --profile 2000        # where the time goes, instead of the figures
    .venv/bin/python bench/speed.py --instructions 2000   # CPU instructions (callgrind): steady when seconds are not

--profile N runs the batch loop in this process (bot.channels.batch.run over io.StringIO, N requests
cycling the questions, after one warm-up message) under cProfile, and prints the top functions by cumulative
and by own time; --profile-out FILE keeps the stats for `python -m pstats FILE` or snakeviz.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = sorted((REPO / "bench" / "real").glob("*.jsonl"))
# Issue 10's targets, for messages never seen before (Telegram lets a bot send about 30 a second).
TARGETS = {"p99_ms": 50.0, "throughput": 200.0, "first_reply_s": 1.0}


def default_cmd() -> list[str]:
    venv = REPO / ".venv" / "bin" / "socialbot"
    exe = str(venv) if venv.exists() else shutil.which("socialbot") or "socialbot"
    return [exe, "batch"]


class Batch:
    """One `socialbot batch` process; requests are written and replies read line by line."""

    def __init__(self, cmd: list[str], env: dict | None = None):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, encoding="utf-8", bufsize=1, env=env)

    def send(self, request: dict) -> None:
        self.proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"`socialbot batch` exited (code {self.proc.poll()}) before replying")
        return json.loads(line)

    def ask(self, request: dict) -> tuple[dict, float]:
        t = time.perf_counter()
        self.send(request)
        reply = self.receive()
        return reply, time.perf_counter() - t

    def peak_rss_kib(self) -> int | None:
        """VmHWM of the running process, in KiB (None where /proc is missing)."""
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def close(self) -> int:
        try:
            self.proc.stdin.close()
            self.proc.stdout.read()
            return self.proc.wait(timeout=60)
        except Exception:
            self.proc.kill()
            return -9


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def cache_dir() -> Path:
    """Where the bot keeps its dense model snapshot and vectors (knowledge.dense.cache_dir, not imported)."""
    if os.environ.get("SOCIALBOT_CACHE_DIR"):
        return Path(os.environ["SOCIALBOT_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "socialbot"


def model_snapshot(directory: Path) -> list[Path]:
    """The model's own files in a cache directory (what a content change leaves valid)."""
    return [p for p in directory.glob("use-*") if p.is_file()] if directory.is_dir() else []


def first_reply(cmd: list[str], starts: int, texts: list[str], cache: Path | None = None) -> list[float]:
    """Seconds from process start to the reply to its first message, a real question (another in
    each start). cache: a directory the process uses instead of the usual one; emptied of everything
    but the model snapshot before each start, so the knowledge base's vectors are computed then."""
    env = None
    if cache is not None:
        env = {**os.environ, "SOCIALBOT_CACHE_DIR": str(cache)}
    seconds = []
    for k in range(starts):
        if cache is not None:
            keep = {p.name for p in model_snapshot(cache)}
            for p in cache.iterdir():
                if p.name not in keep:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
        bot = Batch(cmd, env)
        bot.ask({"user": "first", "text": texts[k % len(texts)]})
        seconds.append(time.perf_counter() - bot.started)
        bot.close()
    return seconds


def latency(cmd: list[str], texts: list[str], rounds: int) -> dict:
    """Every text once per process, one at a time, in `rounds` fresh processes."""
    every, p99s = [], []
    for r in range(rounds):
        bot = Batch(cmd)
        bot.ask({"user": "warm-up", "text": "hello"})
        ms = [bot.ask({"user": f"lat-{r}-{k}", "text": text})[1] * 1000 for k, text in enumerate(texts)]
        bot.close()
        every += ms
        p99s.append(percentile(ms, 99))
    return {"n": len(every), "p50_ms": statistics.median(every), "p99_ms": percentile(every, 99), "max_ms": max(every),
            "p99_each_ms": p99s, "p99_median_ms": statistics.median(p99s)}


def throughput(cmd: list[str], texts: list[str], n: int) -> dict:
    """n requests of distinct users, texts taken in order (cycled when n is larger), pipelined."""
    texts = texts or ["hello"]
    payload = [json.dumps({"user": f"t-{k}", "text": texts[k % len(texts)]}, ensure_ascii=False) + "\n"
               for k in range(n)]
    bot = Batch(cmd)
    bot.ask({"user": "warm-up", "text": "hello"})

    def write():
        for chunk in range(0, n, 512):
            bot.proc.stdin.write("".join(payload[chunk:chunk + 512]))
        bot.proc.stdin.flush()

    t = time.perf_counter()
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    errors = 0
    last = None
    for _ in range(n):
        last = bot.receive()
        errors += last.get("kind") == "error"
    done = time.perf_counter()
    writer.join()
    rss = bot.peak_rss_kib()
    code = bot.close()
    if rss is None:  # no /proc: the largest RSS of any child waited for, in KiB on Linux
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    in_order = last is not None and last.get("user") == f"t-{n - 1}"
    return {"n": n, "steady_per_s": n / (done - t), "wall_s": done - t, "peak_rss_mib": rss / 1024 if rss else None,
            "errors": errors, "in_order": in_order, "exit": code}


def profile(items: list[dict], n: int, top: int, out: Path | None) -> None:
    import cProfile
    import io
    import pstats

    sys.path.insert(0, str(REPO))
    from bot.channels import batch
    from bot.dialogue import Dialogue
    from bot.store import Store

    texts = [i["text"] for i in items] or ["hello"]
    payload = "".join(json.dumps({"user": f"t-{k}", "text": texts[k % len(texts)]}, ensure_ascii=False) + "\n"
                      for k in range(n))
    dialogue = Dialogue(Store(memory=True))
    batch.run(dialogue, io.StringIO('{"user": "warm-up", "text": "hello"}\n'), io.StringIO())
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    batch.run(dialogue, io.StringIO(payload), io.StringIO())
    prof.disable()
    wall = time.perf_counter() - t
    print(f"{n:,} requests in process under cProfile: {wall:.2f} s, {n / wall:,.0f} msg/s "
          f"(the profiler itself slows Python code down)\n")
    for key in ("cumulative", "tottime"):
        stream = io.StringIO()
        pstats.Stats(prof, stream=stream).sort_stats(key).print_stats(top)
        print(stream.getvalue().strip().replace(str(REPO) + "/", ""), "\n")
    if out:
        prof.dump_stats(str(out))


def instructions(cmd: list[str], items: list[dict], n: int) -> int:
    """Instructions (callgrind's Ir) of `cmd` answering one request, and N: the difference is per message."""
    import re
    import tempfile

    if not shutil.which("valgrind"):
        print("valgrind is not installed (Debian: apt-get install valgrind)")
        return 1
    texts = [i["text"] for i in items] or ["hello"]

    def count(k: int) -> int:
        payload = "".join(json.dumps({"user": f"t-{j}", "text": texts[j % len(texts)]}, ensure_ascii=False) + "\n"
                          for j in range(k))
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", *cmd],
                                  input=payload, capture_output=True, text=True, encoding="utf-8")
        found = re.search(r"Collected : (\d+)", done.stderr)
        if not found:
            raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
        return int(found.group(1))

    one, many = count(1), count(n)
    per = (many - one) / max(n - 1, 1)
    print(f"`{' '.join(cmd)}` under callgrind, {n:,} requests cycling {len(texts)} questions\n")
    print("| figure | instructions |\n|---|---|")
    print(f"| start-up and the first reply | {one / 1e9:.2f} G |")
    print(f"| per message after that | {per / 1e3:,.0f} k |")
    print(f"| 20,000 requests, as score.py's run (estimate) | {(one + 20000 * per) / 1e9:.2f} G |")
    return 0


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> str:
    mark = "" if ok is None else ("yes" if ok else "**no**")
    return f"| {name} | {value} | {target} | {mark} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cmd", default=None, help="the batch command (default: the venv's `socialbot batch`)")
    ap.add_argument("--questions", type=Path, nargs="+", default=DEFAULT_QUESTIONS,
                    help="question files (default: bench/real/*.jsonl)")
    ap.add_argument("-n", "--requests", type=int, default=20000,
                    help="pipelined requests of the repeated-texts run (default: %(default)s)")
    ap.add_argument("--starts", type=int, default=5, help="fresh processes per first-reply figure (default: %(default)s)")
    ap.add_argument("--fresh", type=int, default=1,
                    help="starts with an empty cache directory, as on a new machine (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="fresh processes for latency and for throughput (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="profile the batch loop in process over N requests instead of measuring")
    ap.add_argument("--profile-top", type=int, default=15, help="functions listed per ordering (default: %(default)s)")
    ap.add_argument("--profile-out", type=Path, default=None, help="also write the cProfile stats to this file")
    ap.add_argument("--instructions", type=int, default=0, metavar="N",
                    help="count CPU instructions with valgrind's callgrind instead of timing: start-up, and per "
                         "message over N requests (repeatable on a busy machine, unlike seconds)")
    args = ap.parse_args(argv)

    cmd = shlex.split(args.cmd) if args.cmd else default_cmd()
    items = [json.loads(line) for path in args.questions for line in path.open(encoding="utf-8") if line.strip()]
    items = [i for i in items if isinstance(i.get("text"), str)]
    texts = list(dict.fromkeys(i["text"] for i in items))  # each once: a repeat would be a cache hit
    if args.profile:
        profile(items, args.profile, args.profile_top, args.profile_out)
        return 0
    if args.instructions:
        return instructions(cmd, items, args.instructions)

    import tempfile

    warm = first_reply(cmd, 1, texts)  # makes the cache if it is missing, so that the next starts find it
    warm = first_reply(cmd, args.starts, texts)
    with tempfile.TemporaryDirectory(prefix="socialbot-speed-") as tmp:
        cold_dir = Path(tmp) / "cold"
        cold_dir.mkdir()
        for p in model_snapshot(cache_dir()):
            shutil.copy2(p, cold_dir / p.name)
        cold = first_reply(cmd, args.starts, texts, cold_dir) if model_snapshot(cold_dir) else []
        fresh = []
        for k in range(args.fresh):
            fresh_dir = Path(tmp) / f"fresh-{k}"
            fresh_dir.mkdir()
            fresh += first_reply(cmd, 1, texts[k:], fresh_dir)
    lat = latency(cmd, texts, args.rounds)
    runs = [throughput(cmd, texts, len(texts)) for _ in range(args.rounds)]
    rates = [r["steady_per_s"] for r in runs]
    repeated = throughput(cmd, texts, args.requests)

    def seconds(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})" if values else "not measured"

    print(f"`{' '.join(cmd)}` on {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {len(texts)} distinct questions from "
          f"{', '.join(str(p.relative_to(REPO) if p.is_relative_to(REPO) else p) for p in args.questions)}\n")
    print("| figure | measured | target | met |\n|---|---|---|---|")
    limit = TARGETS["first_reply_s"]
    print(row(f"first reply after process start, cache warm (median of {args.starts})", seconds(warm),
              f"<= {limit:g} s", statistics.median(warm) <= limit))
    print(row(f"first reply, knowledge base's vectors cold (median of {args.starts})", seconds(cold),
              f"<= {limit:g} s", statistics.median(cold) <= limit if cold else None))
    print(row(f"first reply, empty cache: a new machine ({args.fresh} start{'s' * (args.fresh != 1)})",
              seconds(fresh)))
    print(row(f"latency p50, never-seen texts one at a time ({lat['n']} messages, {args.rounds} processes)",
              f"{lat['p50_ms']:.2f} ms"))
    print(row("latency p99 (median of the processes' p99)", f"{lat['p99_ms']:.1f} ms ({lat['p99_median_ms']:.1f})",
              f"<= {TARGETS['p99_ms']:g} ms", lat["p99_ms"] <= TARGETS["p99_ms"]))
    print(row("latency max", f"{lat['max_ms']:.1f} ms"))
    print(row(f"throughput, never-seen texts pipelined (median of {args.rounds} processes)",
              f"{statistics.median(rates):,.0f} msg/s ({min(rates):,.0f}-{max(rates):,.0f})",
              f">= {TARGETS['throughput']:,.0f} msg/s", statistics.median(rates) >= TARGETS["throughput"]))
    print(row(f"throughput, {repeated['n']:,} requests cycling the texts (caches answer the repeats)",
              f"{repeated['steady_per_s']:,.0f} msg/s"))
    print(row("peak RSS of that process (VmHWM)",
              f"{repeated['peak_rss_mib']:.1f} MiB" if repeated["peak_rss_mib"] else "unknown"))
    problems = []
    for name, run in [*((f"never-seen run {k + 1}: ", r) for k, r in enumerate(runs)), ("repeated texts: ", repeated)]:
        if run["errors"]:
            problems.append(f"{name}{run['errors']} error replies")
        if not run["in_order"]:
            problems.append(f"{name}replies out of order")
        if run["exit"]:
            problems.append(f"{name}exit code {run['exit']}")
    if problems:
        print("\nthroughput runs: " + "; ".join(problems))
    if args.json:
        print(json.dumps({"first_warm_s": warm, "first_cold_s": cold, "first_fresh_s": fresh, "latency": lat,
                          "throughput": runs, "repeated": repeated}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
