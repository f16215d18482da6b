#!/usr/bin/env python3
"""How the bot does on questions written without looking at its knowledge base or the dev set.

    .venv/bin/python bench/heldout.py                          # both sets in bench/heldout/
    .venv/bin/python bench/heldout.py bench/heldout/hard.jsonl --misses

Each line of a set: {"lang": "en"|"es"|"zh", "text": "...", "topic": "<topic id>" or null}; null means
the bot must not answer (an unrelated errand, or a social insurance question the documents do not
cover). Every question goes, from a new user, through the real `socialbot batch` in one subprocess.

  right     the reply answers that topic (or, for null, gives no answer);
  suggest   "did you mean" instead of the right answer (the user is one tap away);
  wrong     another topic answered, or a null question answered;
  refused   an on-topic question given no answer at all.

A guide request ("step by step") that starts the topic's procedure counts as right.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETS = sorted((REPO / "bench" / "heldout").glob("*.jsonl"))


def default_cmd() -> list[str]:
    venv = REPO / ".venv" / "bin" / "socialbot"
    return [str(venv) if venv.exists() else shutil.which("socialbot") or "socialbot", "batch"]


def topic_flows() -> dict[str, str]:
    sys.path.insert(0, str(REPO))
    from knowledge.kb import load

    return {t.id: t.flow for t in load().topics.values() if t.flow}


def judge(item: dict, reply: dict, flows: dict[str, str]) -> str:
    expected = item.get("topic")
    if expected is None:
        return "right" if reply.get("fallback") and reply.get("kind") != "suggest" else "wrong"
    if reply.get("topic") == expected or (reply.get("kind") == "step" and reply.get("flow") == flows.get(expected)):
        return "right"
    if reply.get("kind") == "suggest":
        return "suggest"
    return "refused" if reply.get("fallback") else "wrong"


def run(path: Path, cmd: list[str], flows: dict[str, str], misses: bool) -> None:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    payload = "".join(json.dumps({"user": f"h{k}", "text": i["text"]}, ensure_ascii=False) + "\n"
                      for k, i in enumerate(items))
    done = subprocess.run(cmd, input=payload, capture_output=True, text=True, encoding="utf-8", timeout=300)
    replies = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(replies) != len(items):
        sys.exit(f"{path.name}: {len(items)} questions but {len(replies)} replies (exit {done.returncode})")
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item, reply in zip(items, replies):
        verdict = judge(item, reply, flows)
        for group in (item["lang"], "all"):
            counts[group][verdict] += 1
            counts[group]["n"] += 1
        if item.get("topic") is None:
            counts["null"][verdict] += 1
            counts["null"]["n"] += 1
        if misses and verdict != "right":
            print(f"  {verdict:7} [{item['lang']}] expected {item.get('topic')}, got {reply.get('kind')} "
                  f"{reply.get('topic') or reply.get('flow')}: {item['text'][:110]!r}")
    print(f"\n{path.name}: {len(items)} questions\n")
    print("| | right | suggest | wrong | refused |\n|---|---|---|---|---|")
    for group in ("all", "en", "es", "zh", "null"):
        c = counts[group]
        if c["n"]:
            print(f"| {group} ({c['n']}) | {c['right'] / c['n']:.1%} | {c['suggest']} | {c['wrong']} | {c['refused']} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", type=Path, default=SETS)
    ap.add_argument("--cmd", default=None, help="the batch command (default: the venv's `socialbot batch`)")
    ap.add_argument("--misses", action="store_true", help="print every question not answered right")
    args = ap.parse_args(argv)
    cmd = shlex.split(args.cmd) if args.cmd else default_cmd()
    flows = topic_flows()
    for path in args.sets:
        run(path, cmd, flows, args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
