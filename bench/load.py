#!/usr/bin/env python3
"""Many users at once, and a kill in the middle: are places ever lost or crossed?

    .venv/bin/python bench/load.py                         # 10,000 users, 100,000 messages, in process
    .venv/bin/python bench/load.py --users 2000 --messages 20000 --seed 7
    .venv/bin/python bench/load.py --profile               # the same load under cProfile: where the time goes
    .venv/bin/python bench/load.py --kill-test             # through `socialbot batch --db`, SIGKILLed mid-run

In process: simulated users talk to the Dialogue core (`Dialogue.handle`) over a file database in a
temporary directory, interleaved at random, in a realistic mix: questions in three languages (the
knowledge base's own question variants, a few typos and out-of-scope questions), procedures started
by button or in words, steps moved on by pressing the reply's buttons or typing next/back/an option,
side questions in the middle of a procedure, cancels, 👍/👎, /start, /language, a few /forget. Each
simulated user reacts to the last reply it got (it presses one of that reply's buttons).

For every user the place the bot acknowledged is tracked (the last Reply's flow/step); at the end it is
compared with what the store holds (`store.user(u).flow_state`): a mismatch is a lost or crossed place.
Printed: messages/s (the handle() calls only), peak RSS (resource.getrusage), mismatches, replies per
kind, and the store's integrity check. Targets, printed and not asserted: >= 3,000 messages/s and peak
RSS <= 200 MB.

--kill-test: the same kind of load (a stream generated up front, typed words and start buttons, since a
pipe cannot wait for each reply) is written into `python -m bot.cli batch --db FILE` while its replies are
read; after about half of them the process gets SIGKILL. Every reply line already flushed into the pipe is
still read. Then a new batch process is started on the same file and every user sends /start, which
answers with the user's place; the store is read too. Each user's place must be the last one
acknowledged before the kill. One request may have been committed but not acknowledged (the process died
between the commit and writing the reply): its user is allowed a place one message ahead and is listed.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.messages import Message, Reply  # noqa: E402
from knowledge.language import LANGS  # noqa: E402

LANG_SHARE = (0.35, 0.25, 0.40)
WORDS = {
    "next": {"en": ["next", "Next", "ok next", "go on"], "es": ["siguiente", "Siguiente", "adelante"],
             "zh": ["下一步", "接下来", "下一个"]},
    "back": {"en": ["back", "go back"], "es": ["atrás", "volver"], "zh": ["上一步", "返回"]},
    "cancel": {"en": ["cancel", "stop"], "es": ["cancelar", "salir"], "zh": ["取消", "不办了"]},
    "continue": {"en": ["continue"], "es": ["continuar"], "zh": ["继续"]},
    "guide": {"en": "walk me through {}", "es": "guíame paso a paso: {}", "zh": "一步步带我办{}"},
}
OUT_OF_SCOPE = {
    "en": ["How do I bake bread?", "what's the weather tomorrow", "Where can I buy a cheap bicycle?",
           "who won the match", "how do i renew my passport"],
    "es": ["¿Cómo se cocina una paella?", "¿qué tiempo hará mañana?", "¿Dónde compro una bicicleta barata?",
           "¿quién ganó el partido?"],
    "zh": ["怎么烤面包？", "明天天气怎么样", "哪里能买便宜的自行车？", "昨天比赛谁赢了"],
}
TARGET_RATE, TARGET_RSS_MB = 3000, 200


def peak_rss_mb(who=resource.RUSAGE_SELF) -> float:
    kb = resource.getrusage(who).ru_maxrss  # kilobytes on Linux (bytes on macOS)
    return kb / 1024 / (1024 if sys.platform == "darwin" else 1)


def typo(text: str, rng: random.Random) -> str:
    if len(text) < 6 or text.isascii() is False and rng.random() < 0.5:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1:] if rng.random() < 0.5 else text[:i] + text[i] + text[i:]


class Content:
    """What users ask and which procedures exist, read from the real knowledge base and flows."""

    def __init__(self):
        from conversations.loader import load_flows
        from knowledge.kb import load

        kb = load()
        self.flows = load_flows()
        self.questions = {lang: [q for t in kb.topics.values() if t.kind == "answer" for q in t.questions.get(lang, ())]
                          for lang in LANGS}
        self.topics = [t.id for t in kb.topics.values() if t.kind == "answer"]
        self.flow_titles = {lang: [f.title[lang] for f in self.flows.values()] for lang in LANGS}
        self.choice_labels = {lang: [c.label[lang] for f in self.flows.values() for s in f.steps.values()
                                     for c in s.choices] for lang in LANGS}

    def question(self, lang: str, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.10:
            return rng.choice(OUT_OF_SCOPE[lang])
        text = rng.choice(self.questions[lang])
        return typo(text, rng) if r < 0.25 else text


# -- the reactive load, in process ------------------------------------------------------------------
class SimUser:
    __slots__ = ("id", "lang", "buttons", "in_flow")

    def __init__(self, uid: str, lang: str):
        self.id, self.lang, self.buttons, self.in_flow = uid, lang, [], False


def next_message(u: SimUser, content: Content, rng: random.Random, first: bool) -> Message:
    lang = u.lang
    if first:
        return Message(u.id, content.question(lang, rng), lang_hint=lang if rng.random() < 0.5 else None)
    r = rng.random()
    flow_buttons = [b for b in u.buttons if b.startswith("flow:")]
    if u.in_flow:
        if r < 0.45 and flow_buttons:
            return Message(u.id, button=rng.choice(flow_buttons))  # press a button of the last reply
        if r < 0.62:
            return Message(u.id, rng.choice(WORDS["next"][lang]))
        if r < 0.70:
            return Message(u.id, rng.choice(WORDS["back"][lang]))
        if r < 0.75:
            return Message(u.id, rng.choice(content.choice_labels[lang]))  # an option, maybe of this step
        if r < 0.88:
            return Message(u.id, content.question(lang, rng))  # a side question
        if r < 0.92:
            return Message(u.id, rng.choice(WORDS["continue"][lang]))
        if r < 0.97:
            return Message(u.id, rng.choice(WORDS["cancel"][lang]))
        if r < 0.985:
            return Message(u.id, "/cancel")
        return Message(u.id, "/start")
    if r < 0.50:
        return Message(u.id, content.question(lang, rng))
    if r < 0.62:
        return Message(u.id, button=f"flow:{rng.choice(list(content.flows))}:start")
    if r < 0.68:
        return Message(u.id, WORDS["guide"][lang].format(rng.choice(content.flow_titles[lang])))
    if r < 0.80 and u.buttons:
        return Message(u.id, button=rng.choice(u.buttons))  # a topic, a 👍/👎, a reminder, a flow start
    if r < 0.86:
        return Message(u.id, rng.choice(["/start", "/help", "/language", f"/language {lang}"]))
    if r < 0.862:
        return Message(u.id, "/forget")
    if r < 0.87:
        return Message(u.id, rng.choice(WORDS["next"][lang]))  # "next" with no procedure
    return Message(u.id, content.question(lang, rng))


def place_of(reply: Reply | dict) -> tuple | None:
    flow, step = (reply.flow, reply.step) if isinstance(reply, Reply) else (reply.get("flow"), reply.get("step"))
    return (flow, step) if flow and step else None


def stored_place(row) -> tuple | None:
    state = row.flow_state
    return (state.get("flow"), state.get("step")) if state else None


class Failures(logging.Handler):
    """Counts what the core logs as a failure and keeps the first one (tracebacks off the screen)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count, self.first = 0, None

    def emit(self, record):
        self.count += 1
        if self.first is None:
            self.first = record.getMessage() + ("\n" + self.format(record).splitlines()[-1] if record.exc_info else "")


def run_load(args) -> int:
    from bot.dialogue import Dialogue
    from bot.store import Store

    failures = Failures()
    logging.getLogger("bot").addHandler(failures)
    logging.getLogger("bot").propagate = False

    rng = random.Random(args.seed)
    tmp = tempfile.TemporaryDirectory(prefix="socialbot-load-")
    path = Path(tmp.name) / "socialbot.db"
    t0 = time.perf_counter()
    content = Content()
    store = Store(path)
    dialogue = Dialogue(store)
    dialogue.say("warm-up", "hello")
    for lang in LANGS:  # lazy imports (zhconv) paid before the clock starts
        dialogue.say("warm-up", content.questions[lang][0])
    store.forget("warm-up")
    setup = time.perf_counter() - t0
    users = [SimUser(f"u{i:05d}", rng.choices(LANGS, LANG_SHARE)[0]) for i in range(args.users)]
    started: set[str] = set()
    acked: dict[str, tuple | None] = {}
    kinds: Counter = Counter()
    last_kind: dict[str, str] = {}
    order = [rng.randrange(args.users) for _ in range(args.messages)]
    order[: args.users] = range(min(args.users, args.messages))  # everyone speaks at least once
    rng.shuffle(order)

    profiler = cProfile.Profile() if args.profile else None
    handle_time = 0.0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for k in order:
        u = users[k]
        msg = next_message(u, content, rng, u.id not in started)
        started.add(u.id)
        t = time.perf_counter()
        reply = dialogue.handle(msg)
        handle_time += time.perf_counter() - t
        kinds[reply.kind] += 1
        acked[u.id] = place_of(reply)
        last_kind[u.id] = reply.kind
        u.buttons = [b.id for b in reply.buttons]
        u.in_flow = acked[u.id] is not None
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    mismatches = [(uid, want, stored_place(store.user(uid))) for uid, want in acked.items()
                  if stored_place(store.user(uid)) != want]
    integrity = store.check()
    rows = store.db.execute("select count(*) from users").fetchone()[0]
    in_flow = sum(1 for p in acked.values() if p)
    store.close()
    rate = args.messages / handle_time
    rss = peak_rss_mb()

    print(f"load: {args.users:,} users, {args.messages:,} messages, seed {args.seed}, file database {path.name}")
    print(f"  set-up (knowledge base, procedures, matcher, warm-up): {setup:.2f} s")
    print(f"  throughput: {rate:,.0f} messages/s in Dialogue.handle ({handle_time:.1f} s); "
          f"{args.messages / wall:,.0f} messages/s wall, simulation included   [target >= {TARGET_RATE:,}]"
          f"{'' if rate >= TARGET_RATE else '  BELOW TARGET'}")
    print(f"  CPU time of the loop: {cpu:.1f} s = {args.messages / cpu:,.0f} messages per CPU-second "
          f"(steadier than wall time on a shared machine; load average {os.getloadavg()[0]:.1f})")
    print(f"  peak RSS: {rss:.0f} MB   [target <= {TARGET_RSS_MB}]{'' if rss <= TARGET_RSS_MB else '  ABOVE TARGET'}")
    print(f"  replies: " + ", ".join(f"{k} {n:,}" for k, n in kinds.most_common()) + f"; internal errors (logged failures) {failures.count}")
    print(f"  users in a procedure at the end: {in_flow:,}; user rows stored: {rows:,}; integrity_check: {integrity}")
    print(f"  place mismatches (acknowledged vs stored): {len(mismatches)}")
    after_error = sum(1 for uid, _, _ in mismatches if last_kind.get(uid) == "error")
    if mismatches:
        print(f"    of which {after_error} after an internal-error reply (it names no place)")
    for uid, want, got in mismatches[:10]:
        print(f"    {uid}: acknowledged {want}, stored {got} (last reply: {last_kind.get(uid)})")
    if failures.count:
        print(f"  logged failures: {failures.count}; first: {failures.first}")
    if profiler:
        print_profile(profiler, args.profile_top)
    tmp.cleanup()
    return 1 if mismatches or integrity != "ok" else 0


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    for key in ("cumulative", "tottime"):
        print(f"\n--- top {top} by {key} ---")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats(key).print_stats(top)


# -- the kill test: through `socialbot batch --db`, SIGKILL mid-run -------------------------------------
def stream(args, content: Content) -> list[dict]:
    """A load generated up front: a pipe cannot wait for each reply, so users type words and press start
    buttons (no step-tagged buttons)."""
    rng = random.Random(args.seed)
    langs = [rng.choices(LANGS, LANG_SHARE)[0] for _ in range(args.users)]
    in_flow = [False] * args.users
    order = [rng.randrange(args.users) for _ in range(args.messages)]
    order[: args.users] = range(min(args.users, args.messages))
    rng.shuffle(order)
    seen = [False] * args.users
    out = []
    for k in order:
        uid, lang, r = f"u{k:05d}", langs[k], rng.random()
        if not seen[k]:
            req = {"user": uid, "text": content.question(lang, rng), "lang": lang}
            seen[k] = True
        elif not in_flow[k]:
            if r < 0.45:
                req = {"user": uid, "button": f"flow:{rng.choice(list(content.flows))}:start"}
                in_flow[k] = True
            else:
                req = {"user": uid, "text": content.question(lang, rng)}
        elif r < 0.55:
            req = {"user": uid, "text": rng.choice(WORDS["next"][lang])}
        elif r < 0.65:
            req = {"user": uid, "text": rng.choice(WORDS["back"][lang])}
        elif r < 0.75:
            req = {"user": uid, "text": rng.choice(content.choice_labels[lang])}
        elif r < 0.88:
            req = {"user": uid, "text": content.question(lang, rng)}
        elif r < 0.92:
            req = {"user": uid, "text": rng.choice(WORDS["continue"][lang])}
        else:
            req = {"user": uid, "text": rng.choice(WORDS["cancel"][lang])}
            in_flow[k] = False
        out.append(req)
    return out


def batch_proc(db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "batch", "--db", str(db)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def kill_test(args) -> int:
    from bot.store import Store

    content = Content()
    requests = stream(args, content)
    lines = [(json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8") for r in requests]
    kill_at = args.kill_at or len(requests) // 2
    tmp = tempfile.TemporaryDirectory(prefix="socialbot-kill-")
    db = Path(tmp.name) / "socialbot.db"

    proc = batch_proc(db)
    t0 = time.perf_counter()

    def write():
        try:
            for line in lines:
                proc.stdin.write(line)
            proc.stdin.flush()
            proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the process was killed

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    acked: dict[str, tuple | None] = {}
    got = 0
    killed_at = None
    for raw in proc.stdout:  # after the kill: whatever was flushed into the pipe is still read
        reply = json.loads(raw)
        assert reply["user"] == requests[got]["user"], "replies out of order"
        acked[reply["user"]] = place_of(reply)
        got += 1
        if got == kill_at and killed_at is None:
            proc.send_signal(signal.SIGKILL)
            killed_at = time.perf_counter() - t0
    proc.wait()
    writer.join(timeout=10)
    elapsed = time.perf_counter() - t0
    child_rss = peak_rss_mb(resource.RUSAGE_CHILDREN)
    in_flight = requests[got]["user"] if got < len(requests) else None  # maybe committed, never acknowledged

    # restart: a new process on the same file; /start answers with each user's place
    users = sorted(acked)
    again = batch_proc(db)
    out, _ = again.communicate("".join(json.dumps({"user": u, "text": "/start"}) + "\n" for u in users).encode())
    restarted = {u: place_of(json.loads(line)) for u, line in zip(users, out.decode("utf-8").splitlines())}
    store = Store(db)
    stored = {u: stored_place(store.user(u)) for u in users}
    integrity = store.check()
    store.close()

    bad = [(u, acked[u], stored[u], restarted.get(u)) for u in users
           if (stored[u] != acked[u] or restarted.get(u) != acked[u]) and u != in_flight]
    ahead = [(u, acked[u], stored[u]) for u in users if u == in_flight and stored[u] != acked[u]]
    print(f"kill test: {args.users:,} users, {len(requests):,} requests into `socialbot batch --db`, seed {args.seed}")
    print(f"  SIGKILL after {kill_at:,} replies read ({killed_at or 0:.1f} s); replies read in all (flushed before "
          f"the kill): {got:,}; return code {proc.returncode}")
    print(f"  throughput before the kill: {got / (killed_at or elapsed):,.0f} messages/s through the pipes; "
          f"peak RSS of the batch processes: {child_rss:.0f} MB")
    print(f"  restarted: {len(restarted):,} users answered /start; integrity_check: {integrity}")
    print(f"  users whose place differs from the last acknowledged one: {len(bad)}")
    for u, want, got_store, got_restart in bad[:10]:
        print(f"    {u}: acknowledged {want}, stored {got_store}, after restart {got_restart}")
    if in_flight:
        print(f"  in flight at the kill: {in_flight} (request {got + 1}); "
              + (f"committed but never acknowledged, one message ahead: {ahead[0][1]} -> {ahead[0][2]}" if ahead
                 else "its user's place is the acknowledged one"))
    tmp.cleanup()
    return 1 if bad or integrity != "ok" or len(restarted) != len(users) else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--profile", action="store_true", help="run under cProfile and print where the time goes")
    ap.add_argument("--profile-top", type=int, default=30)
    ap.add_argument("--kill-test", action="store_true", help="through `socialbot batch --db`, SIGKILL mid-run")
    ap.add_argument("--kill-at", type=int, default=0, help="replies read before the kill (default: half)")
    args = ap.parse_args(argv)
    return kill_test(args) if args.kill_test else run_load(args)


if __name__ == "__main__":
    sys.exit(main())
