#!/usr/bin/env python3
"""The speed figures the project targets, measured on the real `socialbot batch` command.

    .venv/bin/python bench/speed.py                       # the venv's socialbot, ../shared/eval/dev.jsonl
    .venv/bin/python bench/speed.py -n 50000 --rounds 10 --cmd "socialbot batch --db /tmp/x.db"

Every figure comes from `socialbot batch` run in a subprocess and spoken to over its pipes, as
../shared/eval/score.py does; nothing of the bot is imported here.

  first reply      process start -> the reply to {"text": "hello"}, median of --starts fresh processes.
                   Beside it: the first Chinese and first Spanish question in each of those processes
                   (lazy imports such as zhconv are paid there, not at start).
  latency          the dev questions one at a time (send, wait for the reply, send the next), each from a
                   new user, --rounds times over, after a warm-up message: p50 / p99 / max in ms, measured
                   round trip through the pipes. Round 1 sees each text for the first time (cold caches).
  throughput       -n requests of distinct users (texts cycled from the dev questions) written as fast as
                   the pipe takes them while replies are read: messages/s from the first request written to
                   the last reply read (after a warm-up), and including process start (what score.py's
                   --throughput reports). The texts repeat, so caches keyed on the text (rankings,
                   normalisation) answer most of them: a second run makes every text new ("#k" after it)
                   and shows the speed of full scoring.
  peak RSS         VmHWM of that throughput process, read from /proc/<pid>/status after its last reply and
                   before it exits (resource.getrusage(RUSAGE_CHILDREN) where /proc is missing).

    .venv/bin/python bench/speed.py --profile 20000       # where the time goes, instead of the figures
    .venv/bin/python bench/speed.py --instructions 2000   # CPU instructions (callgrind): steady when seconds are not

--profile N runs the batch loop in this process (bot.channels.batch.run over io.StringIO, the same N
requests, after one warm-up message) under cProfile, and prints the top functions by cumulative and by
own time; --profile-out FILE keeps the stats for `python -m pstats FILE` or snakeviz.
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
DEFAULT_QUESTIONS = REPO.parent / "shared" / "eval" / "dev.jsonl"
TARGETS = {"p99_ms": 5.0, "throughput": 5000.0, "first_reply_s": 1.0}


def default_cmd() -> list[str]:
    venv = REPO / ".venv" / "bin" / "socialbot"
    exe = str(venv) if venv.exists() else shutil.which("socialbot") or "socialbot"
    return [exe, "batch"]


class Batch:
    """One `socialbot batch` process; requests are written and replies read line by line."""

    def __init__(self, cmd: list[str]):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, encoding="utf-8", bufsize=1)

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


def first_reply(cmd: list[str], starts: int, items: list[dict]) -> dict:
    zh = next((i["text"] for i in items if i.get("lang") == "zh" and not i.get("expect_fallback")), "社保年审是几月")
    es = next((i["text"] for i in items if i.get("lang") == "es" and not i.get("expect_fallback")),
              "¿cuándo es la revisión anual?")
    hello, first_zh, first_es = [], [], []
    for _ in range(starts):
        bot = Batch(cmd)
        bot.ask({"user": "warm-up", "text": "hello"})
        hello.append(time.perf_counter() - bot.started)
        first_zh.append(bot.ask({"user": "cold-zh", "text": zh})[1])
        first_es.append(bot.ask({"user": "cold-es", "text": es})[1])
        bot.close()
    return {"first_reply_s": statistics.median(hello), "first_reply_all_s": hello,
            "first_zh_ms": statistics.median(first_zh) * 1000, "first_es_ms": statistics.median(first_es) * 1000}


def latency(cmd: list[str], items: list[dict], rounds: int) -> dict:
    bot = Batch(cmd)
    bot.ask({"user": "warm-up", "text": "hello"})
    per_round: list[list[float]] = []
    for r in range(rounds):
        ms = []
        for item in items:
            _, dt = bot.ask({"user": f"lat-{r}-{item['id']}", "text": item["text"]})
            ms.append(dt * 1000)
        per_round.append(ms)
    bot.close()
    every = [x for ms in per_round for x in ms]
    return {"n": len(every), "p50_ms": statistics.median(every), "p99_ms": percentile(every, 99), "max_ms": max(every),
            "round1_p50_ms": statistics.median(per_round[0]), "round1_p99_ms": percentile(per_round[0], 99)}


def unique(text: str, k: int) -> str:
    """The text made new (a request number after it), so no cache keyed on the text can answer it."""
    return f"{text} #{k}"


def throughput(cmd: list[str], items: list[dict], n: int, distinct: bool = False) -> dict:
    texts = [i["text"] for i in items] or ["hello"]
    payload = [json.dumps({"user": f"t-{k}", "text": unique(texts[k % len(texts)], k) if distinct
                           else texts[k % len(texts)]}, ensure_ascii=False) + "\n" for k in range(n)]
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
    return {"n": n, "steady_per_s": n / (done - t), "with_start_per_s": (n + 1) / (done - bot.started),
            "wall_s": done - t, "peak_rss_mib": rss / 1024 if rss else None, "errors": errors,
            "in_order": in_order, "exit": code}


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
    ap.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="(default: %(default)s)")
    ap.add_argument("-n", "--requests", type=int, default=20000, help="pipelined requests (default: %(default)s)")
    ap.add_argument("--starts", type=int, default=5, help="fresh processes for the first reply (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=5, help="passes over the questions for latency (default: %(default)s)")
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
    with args.questions.open(encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    items = [i for i in items if "text" in i]
    if args.profile:
        profile(items, args.profile, args.profile_top, args.profile_out)
        return 0
    if args.instructions:
        return instructions(cmd, items, args.instructions)

    start = first_reply(cmd, args.starts, items)
    lat = latency(cmd, items, args.rounds)
    thr = throughput(cmd, items, args.requests)
    cold = throughput(cmd, items, args.requests, distinct=True)

    print(f"`{' '.join(cmd)}` on {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {len(items)} questions from {args.questions}\n")
    print("| figure | measured | target | met |\n|---|---|---|---|")
    print(row(f"first reply after process start (median of {args.starts})", f"{start['first_reply_s']:.3f} s",
              f"<= {TARGETS['first_reply_s']:g} s", start["first_reply_s"] <= TARGETS["first_reply_s"]))
    print(row("first Chinese / Spanish question in a fresh process",
              f"{start['first_zh_ms']:.1f} / {start['first_es_ms']:.1f} ms"))
    print(row(f"latency p50, one at a time ({lat['n']} messages)", f"{lat['p50_ms']:.2f} ms"))
    print(row("latency p99", f"{lat['p99_ms']:.2f} ms", f"<= {TARGETS['p99_ms']:g} ms",
              lat["p99_ms"] <= TARGETS["p99_ms"]))
    print(row("latency max / round-1 p99 (texts not seen before)", f"{lat['max_ms']:.2f} / {lat['round1_p99_ms']:.2f} ms"))
    print(row(f"throughput, {thr['n']:,} pipelined requests, distinct users", f"{thr['steady_per_s']:,.0f} msg/s",
              f">= {TARGETS['throughput']:,.0f} msg/s", thr["steady_per_s"] >= TARGETS["throughput"]))
    print(row("throughput including process start (as score.py)", f"{thr['with_start_per_s']:,.0f} msg/s"))
    print(row("throughput, every text new (no cache can help)", f"{cold['steady_per_s']:,.0f} msg/s"))
    print(row("peak RSS of the throughput process (VmHWM)",
              f"{thr['peak_rss_mib']:.1f} MiB" if thr["peak_rss_mib"] else "unknown"))
    problems = []
    for name, run in (("", thr), ("every text new: ", cold)):
        if run["errors"]:
            problems.append(f"{name}{run['errors']} error replies")
        if not run["in_order"]:
            problems.append(f"{name}replies out of order")
        if run["exit"]:
            problems.append(f"{name}exit code {run['exit']}")
    if problems:
        print("\nthroughput run: " + "; ".join(problems))
    if args.json:
        print(json.dumps({"first": start, "latency": lat, "throughput": thr, "throughput_new_texts": cold}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
