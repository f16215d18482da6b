"""The `socialbot` command, on click. Each subcommand is a few lines over the modules that do the work:
it opens the store, builds the dialogue over it, and hands both to the channel (no channel builds its own)."""
from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import uuid
from collections.abc import Iterator

import click

COMMANDS = {
    "chat": "chat in the terminal (the default when TELEGRAM_BOT_TOKEN is unset)",
    "ask": "ask one question and print the answer",
    "batch": "JSON Lines in, one JSON reply line out per request (the protocol every check uses)",
    "telegram": "run the Telegram bot (the default when TELEGRAM_BOT_TOKEN is set)",
    "web": "the web chat a bureau puts on its site (tornado; works without JavaScript)",
    "kb": "knowledge base tools: `kb check` validates topics and procedures, `kb vectors` ships the dense vectors",
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
LANG = click.Choice(["en", "es", "zh"])
DB_HELP = "database file (default: SOCIALBOT_DB or the user data directory)"


def db_option(help: str = DB_HELP):
    return click.option("--db", metavar="DB", help=help)


class InOrder(click.Group):
    """Subcommands listed in the order of COMMANDS (click sorts them by name)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands, key=lambda name: list(COMMANDS).index(name) if name in COMMANDS else len(COMMANDS))


@click.group("socialbot", cls=InOrder, invoke_without_command=True, help="A trilingual social security assistant.",
             context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> int | None:
    from bot import logs

    logs.setup()  # whatever a library logs, no personal number and no secret reaches the log
    if ctx.invoked_subcommand is not None:
        return None
    # No command: the channel the environment says (`docker run` with or without a token).
    return _telegram(None) if os.environ.get("TELEGRAM_BOT_TOKEN") else _chat(None, None, by_default=True)


def command(name: str, group: click.Group = cli, **kw):
    return group.command(name, help=COMMANDS[name], short_help=COMMANDS[name], **kw)


@contextlib.contextmanager
def _opened(path: str | None, memory: bool = False) -> Iterator:
    """The store for one command, closed when the command ends (whatever the channel did)."""
    from bot.store import Store

    store = Store(memory=True) if memory else Store(path or os.environ.get("SOCIALBOT_DB") or None)
    try:
        yield store
    finally:
        store.close()


def _dialogue(store):
    with _long_lived():
        from bot.dialogue import Dialogue

        return Dialogue(store)


@contextlib.contextmanager
def _long_lived():
    """Build what lives as long as the process (the knowledge base, its indexes, the encoder) without
    the cycle collector, then freeze it. Building makes hundreds of thousands of objects, none of them
    garbage, and the collector walked them again and again: a fifteenth of a start's CPU. Frozen, they
    are not walked by later collections either."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@command("chat")
@db_option()
@click.option("--user", help="keep your place across sessions under this name (default: a new user each session)")
def chat(db: str | None, user: str | None) -> int:
    return _chat(db, user)


def _chat(db: str | None, user: str | None, by_default: bool = False) -> int:
    from bot.channels import console

    interactive = sys.stdin.isatty()
    if by_default and not interactive:
        # `docker run` without -it or a token lands here: say how to start the Telegram bot, not exit mute.
        print(NO_TOKEN_HINT, file=sys.stderr)
    with _opened(db) as store:
        console.run(_dialogue(store), sys.stdin, sys.stdout, user=user or f"console-{uuid.uuid4().hex[:12]}",
                    interactive=interactive)
    return 0


@command("ask")
@click.argument("question")
@click.option("--lang", type=LANG, help="the language hint")
@click.option("--json", "as_json", is_flag=True, help="print the reply as a batch JSON line")
def ask(question: str, lang: str | None, as_json: bool) -> int:
    from bot.channels.console import draw
    from bot.messages import Message

    with _opened(None, memory=True) as store:
        reply = _dialogue(store).handle(Message("cli", question, lang_hint=lang))
    print(json.dumps(reply.to_json(), ensure_ascii=False) if as_json else draw(reply))
    return 0


@command("batch")
@db_option("database file (default: a fresh in-memory database)")
@click.option("--workers", type=int, default=1, show_default=False,
              help="processes sharing the users, for bulk runs (default 1: the fastest first reply and "
                   "per-message latency; ignored with --db)")
def batch(db: str | None, workers: int) -> int:
    from bot.channels import batch as channel

    # Replies must be UTF-8 whatever the locale says; a broken byte on stdin must not end the run.
    # Lines end at "\n" only, as `batch --workers` splits them: a stray "\r" must not make two requests.
    sys.stdin.reconfigure(encoding="utf-8", errors="replace", newline="\n")
    sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")  # a lone surrogate stays valid JSON
    if workers > 1 and not db:
        from bot.channels import batch_shards

        batch_shards.run(workers, sys.stdin, sys.stdout)
        return 0
    with _opened(db, memory=not db) as store:
        channel.run(_dialogue(store), sys.stdin, sys.stdout)
    return 0


@command("telegram")
@db_option()
def telegram(db: str | None) -> int:
    return _telegram(db)


def _telegram(db: str | None) -> int:
    from bot import logs
    from bot.channels import telegram as channel
    from bot.channels.telegram_runtime import Settings, SettingsError

    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as err:
        print(f"socialbot telegram: {err}", file=sys.stderr)
        return 2
    logs.install(settings.token, settings.webhook_secret)  # a random webhook secret is made only now
    with _opened(db) as store:
        return channel.run(settings, _dialogue(store), store)


@command("web")
@click.option("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=8080, help="port (default 8080)")
@db_option()
def web(host: str, port: int, db: str | None) -> int:
    from bot.channels import web as channel

    with _opened(db) as store:
        return channel.run(_dialogue(store), store, host, port)


@command("kb", cls=InOrder)
def kb() -> None:
    pass


@kb.command("check", help="validate every topic and procedure; exit 1 on any problem")
def kb_check() -> int:
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


@kb.command("vectors", help="write the knowledge base's dense vectors into the package, so that a fresh "
                            "checkout or install starts without embedding them")
def kb_vectors() -> int:
    from knowledge import dense

    with _opened(None, memory=True) as store:
        scorer = _dialogue(store).matcher.dense
    if scorer is None:
        print("socialbot kb vectors: the dense model is off or cannot load (see the log)", file=sys.stderr)
        return 1
    path = dense.ship(scorer.encoder, scorer.texts)
    print(f"{len(scorer.texts)} vectors written to {path}")
    return 0


@command("flows", cls=InOrder)
def flows() -> None:
    pass


@flows.command("list", help="list the procedures")
def flows_list() -> int:
    from conversations.loader import load_flows

    for flow in load_flows().values():
        print(f"{flow.id}: {flow.title['en']} ({len(flow.steps)} steps)")
    return 0


@flows.command("diagram", help="print a procedure as a Mermaid state diagram")
@click.argument("name")
@click.option("--lang", type=LANG, default="en")
def flows_diagram(name: str, lang: str) -> int:
    from conversations.diagram import mermaid
    from conversations.loader import load_flows

    known = load_flows()
    if name not in known:
        print(f"unknown procedure {name!r}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    print(mermaid(known[name], lang))
    return 0


@command("report")
@click.option("--since", type=int, default=None, metavar="DAYS")
@click.option("--lang", type=LANG)
@db_option()
def report(since: int | None, lang: str | None, db: str | None) -> int:
    from bot.report import report as written

    with _opened(db) as store:
        print(written(store, since_days=since, lang=lang))
    return 0


@command("db", cls=InOrder)
def db() -> None:
    pass


@db.command("backup", help="copy the database while the bot runs (SQLite online backup)")
@click.argument("path")
@db_option()
def db_backup(path: str, db: str | None) -> int:
    with _opened(db) as store:
        try:
            store.backup(path)
        except (ValueError, OSError) as err:
            print(f"socialbot db backup: {err}", file=sys.stderr)
            return 1
    print(f"backed up to {path}")
    return 0


@command("links")
@click.option("--bot", "bot_name", metavar="BOT", help="the bot's username (default: TELEGRAM_BOT_USERNAME)")
@click.option("--qr", metavar="DIR", help="also write a QR code PNG for each link into DIR")
def links(bot_name: str | None, qr: str | None) -> int:
    from pathlib import Path

    from bot.links import entries, link, write_qr
    from conversations.loader import load_flows
    from knowledge.kb import load

    name = bot_name or os.environ.get("TELEGRAM_BOT_USERNAME")
    if not name:
        print("socialbot links: say which bot, with --bot NAME or TELEGRAM_BOT_USERNAME", file=sys.stderr)
        return 2
    folder = Path(qr) if qr else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    for payload, title in entries(load(), load_flows()):
        url = link(name, payload)
        print(f"{url}\t{title}")
        if folder:
            write_qr(url, folder / f"{payload}.png")
    return 0


def _pause(db: str | None, paused: bool) -> int:
    from bot.pause import CHECK_EVERY, set_paused

    with _opened(db) as store:
        set_paused(store, paused)
    print(f"{'paused' if paused else 'resumed'}: every running channel follows within {CHECK_EVERY:g} seconds")
    return 0


@command("pause")
@db_option()
def pause(db: str | None) -> int:
    return _pause(db, True)


@command("resume")
@db_option()
def resume(db: str | None) -> int:
    return _pause(db, False)


def main(argv: list[str] | None = None) -> int:
    from bot.store import StoreError

    try:
        return cli.main(args=argv, prog_name="socialbot", standalone_mode=False)
    except click.ClickException as err:  # a usage error: said on stderr, status 2 (as argparse did)
        err.show()
        raise SystemExit(err.exit_code) from None
    except click.Abort:  # Ctrl-C while click itself was reading
        return 130
    except StoreError as err:  # a database that cannot be used: one sentence, no traceback
        print(f"socialbot: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
