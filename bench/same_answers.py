#!/usr/bin/env python3
"""Does a change leave every answer as it was? Every question of every set, through the real
`socialbot batch`, written to a file, then compared with the file written before the change.

    .venv/bin/python bench/same_answers.py --save /tmp/before.jsonl      # before the change
    .venv/bin/python bench/same_answers.py --against /tmp/before.jsonl   # after it: exit 1 on a difference

A speed-up (a cache, a faster scorer, a lazy import) must not change what the bot says. This sends the
dev questions (../shared/eval/dev.jsonl), bench/heldout/*.jsonl and bench/real/*.jsonl, each from a
new user, twice over: the second pass repeats every text from new users, so what the caches keyed
on a text give back is checked against what the first scoring said. Each reply line is kept as
`socialbot batch` printed it (its JSON, byte for byte), beside the set and the item's id; --against
lists every item whose reply differs, with both lines.

Nothing of the bot is imported; the sets are read at run time only (never copy them into content).
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETS = [REPO.parent / "shared" / "eval" / "dev.jsonl", *sorted((REPO / "bench" / "heldout").glob("*.jsonl")),
        *sorted((REPO / "bench" / "real").glob("*.jsonl"))]
PASSES = 2


def default_cmd() -> list[str]:
    venv = REPO / ".venv" / "bin" / "socialbot"
    return [str(venv) if venv.exists() else shutil.which("socialbot") or "socialbot", "batch"]


def questions(paths: list[Path]) -> list[tuple[str, str]]:
    """(key, text) of every item that has a text: the key names its set and id (or line)."""
    out = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                item = json.loads(line)
                if isinstance(item.get("text"), str):
                    out.append((f"{path.name}:{item.get('id', n)}", item["text"]))
    return out


def replies(cmd: list[str], items: list[tuple[str, str]]) -> list[dict]:
    """One record per request and pass: the set key, the pass, and the reply line exactly as printed."""
    requests = [(p, key, text) for p in range(PASSES) for key, text in items]
    payload = "".join(json.dumps({"user": f"same-{p}-{k}", "text": text}, ensure_ascii=False) + "\n"
                      for k, (p, _, text) in enumerate(requests))
    done = subprocess.run(cmd, input=payload, capture_output=True, text=True, encoding="utf-8", timeout=1800)
    lines = done.stdout.splitlines()
    if done.returncode or len(lines) != len(requests):
        raise SystemExit(f"`{' '.join(cmd)}` exited {done.returncode} with {len(lines)} of {len(requests)} "
                         f"replies:\n{done.stderr[-2000:]}")
    # The user id carries the request's number, which differs between passes: the rest must not.
    return [{"key": key, "pass": p, "reply": line.replace(f'"same-{p}-{k}"', '"U"', 1)}
            for k, ((p, key, _), line) in enumerate(zip(requests, lines))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", type=Path, help="write every reply to this file")
    what.add_argument("--against", type=Path, help="compare every reply with this file (from --save)")
    ap.add_argument("--cmd", default=None, help="the batch command (default: the venv's `socialbot batch`)")
    ap.add_argument("sets", nargs="*", type=Path, help="question files (default: dev, heldout and real sets)")
    args = ap.parse_args(argv)

    cmd = shlex.split(args.cmd) if args.cmd else default_cmd()
    items = questions(args.sets or SETS)
    got = replies(cmd, items)
    if args.save:
        with args.save.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in got)
        print(f"{len(got)} replies ({len(items)} questions x {PASSES} passes) written to {args.save}")
        return 0
    before = [json.loads(line) for line in args.against.read_text(encoding="utf-8").splitlines() if line.strip()]
    if [(r["key"], r["pass"]) for r in before] != [(r["key"], r["pass"]) for r in got]:
        print(f"{args.against} holds other questions ({len(before)} replies, now {len(got)}): save it again")
        return 2
    differ = [(a, b) for a, b in zip(before, got) if a["reply"] != b["reply"]]
    for a, b in differ:
        print(f"{a['key']} (pass {a['pass'] + 1}):\n  before {a['reply']}\n  now    {b['reply']}")
    print(f"{len(got) - len(differ)} of {len(got)} replies identical ({len(items)} questions x {PASSES} passes)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
