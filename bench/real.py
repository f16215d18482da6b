#!/usr/bin/env python3
"""How the bot does on questions real people wrote on public pages (bench/real/, see its README).

    .venv/bin/python bench/real.py                    # every set: tune.jsonl, tune2.jsonl, tune3.jsonl, test.jsonl
    .venv/bin/python bench/real.py --show-failures    # and every item not answered right
    .venv/bin/python bench/real.py bench/real/test.jsonl --cmd "other-bot batch"

Each item: {"id", "lang", "text", "source", "topic": "<topic id>" or "decline", "facts": [[alt, ...], ...],
"also"?: [<topic id>, ...], "rendering"?: true, "original"?: "..."}. Every question goes, from a new
user, through the real `socialbot batch` in one subprocess (or, with --in-process, through the same
batch loop over the dialogue core in this process, as the test does).

An answerable item is right when the reply answers its topic (or one of "also", a second topic
that answers the question as well) without falling back, and every group of "facts" has an
alternative in the reply's text or buttons (case-insensitive, white space and HTML tags ignored,
as ../shared/eval/score.py reads a reply). A "did you mean" is not right: the person did not get
the answer. A must-decline item ("decline": the five documents do not answer it) is right when
the reply falls back without a "did you mean": an `uncovered-*` topic (the bot's honest "my
documents don't say") replies with fallback true and counts as declined; suggesting a
neighbouring topic as if it might be the answer does not.

Verdicts: answerable: right | facts (topic right, a fact missing) | wrong (another topic) |
suggest | refused (fallback); must-decline: right | suggest | answered.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from knowledge.language import LANGS  # noqa: E402

# tune2.jsonl and tune3.jsonl are the third and fourth batches, kept entirely for tuning: more, and more varied,
# questions to tune on, so the test half measures what was not fitted (see bench/real/README.md).
HALVES = [REPO / "bench" / "real" / n for n in ("tune.jsonl", "tune2.jsonl", "tune3.jsonl", "test.jsonl")]
DECLINE = "decline"
TAG = re.compile(r"<[^>]+>")
SPACE = re.compile(r"\s+")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def squash(text: str) -> str:
    return SPACE.sub("", TAG.sub("", text)).casefold()


def reply_text(reply: dict) -> str:
    labels = " ".join(str(b) for b in reply.get("buttons") or [])
    return squash(f"{reply.get('text', '')} {labels}")


def missing_facts(item: dict, reply: dict) -> list[list[str]]:
    text = reply_text(reply)
    return [group for group in item.get("facts") or [] if not any(squash(alt) in text for alt in group)]


def topic_flows() -> dict[str, str]:
    sys.path.insert(0, str(REPO))
    from knowledge.kb import load as load_kb

    return {t.id: t.flow for t in load_kb().topics.values() if t.flow}


def judge(item: dict, reply: dict, flows: dict[str, str]) -> str:
    suggest = reply.get("kind") == "suggest"
    if item["topic"] == DECLINE:
        if reply.get("fallback") and not suggest:
            return "right"
        return "suggest" if suggest else "answered"
    accepted = [item["topic"], *item.get("also", [])]
    if not reply.get("fallback") and (reply.get("topic") in accepted or (
            reply.get("kind") == "step" and reply.get("flow") in {flows.get(t) for t in accepted} - {None})):
        return "facts" if missing_facts(item, reply) else "right"
    if suggest:
        return "suggest"
    return "refused" if reply.get("fallback") else "wrong"


def payload(items: list[dict]) -> str:
    return "".join(json.dumps({"user": f"r{k}", "text": i["text"]}, ensure_ascii=False) + "\n"
                   for k, i in enumerate(items))


def ask_batch(items: list[dict], cmd: list[str]) -> list[dict]:
    done = subprocess.run(cmd, input=payload(items), capture_output=True, text=True, encoding="utf-8", timeout=600)
    replies = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(replies) != len(items):
        sys.exit(f"{len(items)} questions but {len(replies)} replies (exit {done.returncode}): {done.stderr[-500:]}")
    return replies


def ask_in_process(items: list[dict]) -> list[dict]:
    """The same batch loop `socialbot batch` runs, over the dialogue core, with a store in memory."""
    sys.path.insert(0, str(REPO))
    from bot.channels import batch
    from bot.dialogue import Dialogue
    from bot.store import Store

    out = io.StringIO()
    batch.run(Dialogue(Store(memory=True)), io.StringIO(payload(items)), out)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def score(items: list[dict], replies: list[dict], flows: dict[str, str]) -> dict:
    """Counts per group ("all", each language, "answerable", "decline"): n and each verdict."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    verdicts = []
    for item, reply in zip(items, replies, strict=True):
        verdict = judge(item, reply, flows)
        verdicts.append(verdict)
        kind = "decline" if item["topic"] == DECLINE else "answerable"
        for group in ("all", item["lang"], kind, f"{kind}-{item['lang']}"):
            counts[group][verdict] += 1
            counts[group]["n"] += 1
    return {"counts": counts, "verdicts": verdicts}


def rate(c: dict, key: str = "right") -> float:
    return c[key] / c["n"] if c["n"] else 0.0


def report(name: str, items: list[dict], replies: list[dict], result: dict, show: bool) -> None:
    counts = result["counts"]
    if show:
        for item, reply, verdict in zip(items, replies, result["verdicts"]):
            if verdict != "right":
                got = reply.get("topic") or reply.get("flow") or ("fallback" if reply.get("fallback") else None)
                extra = f" missing {missing_facts(item, reply)}" if verdict == "facts" else ""
                print(f"  {verdict:8} {item['id']} expected {item['topic']}, got {reply.get('kind')} {got}{extra}: "
                      f"{item['text'][:100]!r}")
    a, d = counts["answerable"], counts["decline"]
    print(f"\n{name}: {len(items)} questions ({a['n']} answerable, {d['n']} must-decline)\n")
    print("| | right | must-decline declined | answerable refused | answerable wrong or half | did you mean |")
    print("|---|---|---|---|---|---|")
    for group in ("all", *LANGS):
        c, ca, cd = counts[group], counts[f"answerable-{group}"], counts[f"decline-{group}"]
        if group == "all":
            ca, cd = a, d
        if not c["n"]:
            continue
        print(f"| {group} ({c['n']}) | {rate(c):.1%} | {cd['right']}/{cd['n']} ({rate(cd):.0%}) "
              f"| {ca['refused']}/{ca['n']} ({rate(ca, 'refused'):.0%}) | {ca['wrong'] + ca['facts']} "
              f"| {c['suggest']} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", type=Path, default=HALVES)
    ap.add_argument("--cmd", default=None, help="the batch command (default: the venv's `socialbot batch`)")
    ap.add_argument("--in-process", action="store_true", help="run the batch loop in this process instead")
    ap.add_argument("--show-failures", action="store_true", help="print every item not answered right")
    args = ap.parse_args(argv)
    venv = REPO / ".venv" / "bin" / "socialbot"
    cmd = shlex.split(args.cmd) if args.cmd else [
        str(venv) if venv.exists() else shutil.which("socialbot") or "socialbot", "batch"]
    flows = topic_flows()
    for path in args.sets:
        items = load(path)
        replies = ask_in_process(items) if args.in_process else ask_batch(items, cmd)
        report(path.name, items, replies, score(items, replies, flows), args.show_failures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
