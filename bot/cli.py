"""The `socialbot` command. Each subcommand is a few lines over the modules that do the work."""
from __future__ import annotations

import argparse
import json
import os
import sys
import uuid

COMMANDS = {
    "chat": "chat in the terminal (the default when TELEGRAM_BOT_TOKEN is unset)",
    "ask": "ask one question and print the answer",
    "batch": "JSON Lines in, one JSON reply line out per request (the protocol every check uses)",
    "telegram": "run the Telegram bot (the default when TELEGRAM_BOT_TOKEN is set)",
    "web": "the web chat a bureau puts on its site (tornado; works without JavaScript)",
    "kb": "knowledge base tools: `kb check` validates topics and procedures",
    "flows": "procedure tools: `flows list`, `flows diagram NAME` (Mermaid)",
    "report": "what users asked that the bot could not answer, and their feedback",
    "db": "database tools: `db backup PATH`",
    "links": "the t.me link that opens each procedure and topic (for posters); `--qr DIR` writes QR codes",
    "pause": "pause the assistant: every running channel answers only with the bureau's contact",
    "resume": "end a pause: every running channel answers again",
}

NO_TOKEN_HINT = ("socialbot: TELEGRAM_BOT_TOKEN is not set, so this is the console chat, reading standard input "
                 "(no terminal here).\n  Telegram: set the token, e.g. docker run -e TELEGRAM_BOT_TOKEN=123456:ABC... "
                 "-v socialbot-data:/data socialbot\n  Console:  docker run -it socialbot")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="socialbot", description="A trilingual social security assistant.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in COMMANDS.items():
        sub.add_parser(name, help=text, description=text)
    p = sub.choices
    p["chat"].add_argument("--db", help="database file (default: SOCIALBOT_DB or the user data directory)")
    p["chat"].add_argument("--user", help="keep your place across sessions under this name (default: a new user "
                                          "each session)")
    p["ask"].add_argument("question")
    p["ask"].add_argument("--lang", choices=["en", "es", "zh"], help="the language hint")
    p["ask"].add_argument("--json", action="store_true", help="print the reply as a batch JSON line")
    p["batch"].add_argument("--db", help="database file (default: a fresh in-memory database)")
    p["batch"].add_argument("--workers", type=int, default=1,
                            help="processes sharing the users, for bulk runs (default 1: the fastest "
                                 "first reply and per-message latency; ignored with --db)")
    p["telegram"].add_argument("--db", help="database file (default: SOCIALBOT_DB or the user data directory)")
    p["web"].add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p["web"].add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p["web"].add_argument("--db", help="database file (default: SOCIALBOT_DB or the user data directory)")
    kb = p["kb"].add_subparsers(dest="action", metavar="ACTION", required=True)
    kb.add_parser("check", help="validate every topic and procedure; exit 1 on any problem")
    flows = p["flows"].add_subparsers(dest="action", metavar="ACTION", required=True)
    flows.add_parser("list", help="list the procedures")
    diagram = flows.add_parser("diagram", help="print a procedure as a Mermaid state diagram")
    diagram.add_argument("name")
    diagram.add_argument("--lang", default="en", choices=["en", "es", "zh"])
    p["report"].add_argument("--since", type=int, default=None, metavar="DAYS")
    p["report"].add_argument("--lang", choices=["en", "es", "zh"])
    p["report"].add_argument("--db", help="database file (default: SOCIALBOT_DB or the user data directory)")
    db = p["db"].add_subparsers(dest="action", metavar="ACTION", required=True)
    backup = db.add_parser("backup", help="copy the database while the bot runs (SQLite online backup)")
    backup.add_argument("path")
    backup.add_argument("--db", help="database file (default: SOCIALBOT_DB or the user data directory)")
    p["links"].add_argument("--bot", help="the bot's username (default: TELEGRAM_BOT_USERNAME)")
    p["links"].add_argument("--qr", metavar="DIR", help="also write a QR code PNG for each link into DIR")
    for name in ("pause", "resume"):
        p[name].add_argument("--db", help="database file (default: SOCIALBOT_DB or the user data directory)")
    return ap


def _store(path: str | None, memory: bool = False):
    from bot.store import Store

    return Store(memory=True) if memory else Store(path or os.environ.get("SOCIALBOT_DB") or None)


def _dialogue(store):
    from bot.dialogue import Dialogue

    return Dialogue(store)


def main(argv: list[str] | None = None) -> int:
    from bot.store import StoreError

    try:
        return _main(argv)
    except StoreError as err:  # a database that cannot be used: one sentence, no traceback
        print(f"socialbot: {err}", file=sys.stderr)
        return 1


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    from bot import logs

    logs.setup()  # whatever a library logs, no personal number and no secret reaches the log
    command = args.command or ("telegram" if os.environ.get("TELEGRAM_BOT_TOKEN") else "chat")
    if command == "batch":
        from bot.channels import batch

        # Replies must be UTF-8 whatever the locale says; a broken byte on stdin must not end the run.
        # Lines end at "\n" only, as `batch --workers` splits them: a stray "\r" must not make two requests.
        sys.stdin.reconfigure(encoding="utf-8", errors="replace", newline="\n")
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")  # a lone surrogate stays valid JSON
        if args.workers > 1 and not args.db:
            from bot.channels import batch_shards

            batch_shards.run(args.workers, sys.stdin, sys.stdout)
        else:
            batch.run(_dialogue(_store(args.db, memory=not args.db)), sys.stdin, sys.stdout)
        return 0
    if command == "chat":
        from bot.channels import console

        interactive = sys.stdin.isatty()
        if args.command is None and not interactive:
            # `docker run` without -it or a token lands here: say how to start the Telegram bot, not exit mute.
            print(NO_TOKEN_HINT, file=sys.stderr)
        user = getattr(args, "user", None) or f"console-{uuid.uuid4().hex[:12]}"
        console.run(_dialogue(_store(getattr(args, "db", None))), sys.stdin, sys.stdout, user=user,
                    interactive=interactive)
        return 0
    if command == "ask":
        from bot.channels.console import draw
        from bot.messages import Message

        reply = _dialogue(_store(None, memory=True)).handle(Message("cli", args.question, lang_hint=args.lang))
        print(json.dumps(reply.to_json(), ensure_ascii=False) if args.json else draw(reply))
        return 0
    if command == "telegram":
        from bot.channels.telegram import run_from_env

        return run_from_env(getattr(args, "db", None))
    if command == "web":
        from bot.channels import web

        return web.run(_dialogue(_store(args.db)), args.host, args.port)
    if command == "kb":
        import bot.checks

        problems = bot.checks.check_all()
        for line in problems:
            print(line)
        warnings = bot.checks.review_warnings()  # due for another look, not wrong: never a failure
        for line in warnings:
            print(f"warning: {line}")
        print(f"{len(problems)} problem(s)" if problems else "knowledge base OK"
              + (f" ({len(warnings)} warning(s))" if warnings else "")
              + f"; content reviewed on {bot.checks.reviewed_date()}")
        return 1 if problems else 0
    if command == "flows":
        from conversations.diagram import mermaid
        from conversations.loader import load_flows

        flows = load_flows()
        if args.action == "list":
            for flow in flows.values():
                print(f"{flow.id}: {flow.title['en']} ({len(flow.steps)} steps)")
            return 0
        if args.name not in flows:
            print(f"unknown procedure {args.name!r}; known: {', '.join(flows)}", file=sys.stderr)
            return 2
        print(mermaid(flows[args.name], args.lang))
        return 0
    if command == "report":
        from bot.report import report

        print(report(_store(args.db), since_days=args.since, lang=args.lang))
        return 0
    if command == "db":
        try:
            _store(args.db).backup(args.path)
        except (ValueError, OSError) as err:
            print(f"socialbot db backup: {err}", file=sys.stderr)
            return 1
        print(f"backed up to {args.path}")
        return 0
    if command == "links":
        return _links(args)
    if command in ("pause", "resume"):
        from bot.pause import CHECK_EVERY, set_paused

        set_paused(_store(args.db), command == "pause")
        print(f"{'paused' if command == 'pause' else 'resumed'}: every running channel follows within "
              f"{CHECK_EVERY:g} seconds")
        return 0
    return 2


def _links(args) -> int:
    from pathlib import Path

    from bot.links import entries, link, write_qr
    from conversations.loader import load_flows
    from knowledge.kb import load

    bot = args.bot or os.environ.get("TELEGRAM_BOT_USERNAME")
    if not bot:
        print("socialbot links: say which bot, with --bot NAME or TELEGRAM_BOT_USERNAME", file=sys.stderr)
        return 2
    folder = Path(args.qr) if args.qr else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    for payload, title in entries(load(), load_flows()):
        url = link(bot, payload)
        print(f"{url}\t{title}")
        if folder:
            write_qr(url, folder / f"{payload}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
