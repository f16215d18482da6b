"""JSON Lines in, one JSON line out per request, flushed, in order (the protocol in ../shared/DESIGN.md)."""
from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import IO

from bot.messages import Message

_FIELDS = ("user", "text", "lang", "button")
log = logging.getLogger(__name__)


def blank(line: str | bytes) -> bool:
    """A line that is no request (skipped, no reply): only white space, Unicode's included. The one
    test both `batch` and `batch --workers` use, so they agree on which lines owe a reply."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    return not line.strip()


def parse(line: str | bytes) -> tuple[object, str | None]:
    """A line's JSON value, or None and what is wrong with it. Never raises: JSON nested too deep for
    the parser (RecursionError) or an integer longer than Python converts (ValueError, 4,300 digits),
    even in a field we ignore, is one bad line, not the end of the run."""
    try:
        return json.loads(line), None
    except json.JSONDecodeError as err:
        return None, f"invalid JSON: {err.msg}"
    except UnicodeDecodeError:
        return None, "invalid JSON: not UTF-8"
    except RecursionError:
        return None, "invalid JSON: nested too deep"
    except ValueError as err:  # "Exceeds the limit (4300 digits) for integer string conversion"
        return None, f"invalid JSON: {str(err).split(';')[0]}"


def request_to_message(line: str) -> tuple[Message | None, dict]:
    """The Message a request line asks for, or None and an error reply object."""
    request, problem = parse(line)
    if problem:
        return None, {"error": problem}
    if not isinstance(request, dict):
        return None, {"error": "a request must be a JSON object"}
    user = request.get("user")
    if not isinstance(user, (str, int)) or isinstance(user, bool) or not str(user).strip():
        return None, {"error": "missing or invalid field 'user'", "user": user if isinstance(user, str) else None}
    text, button, lang = request.get("text"), request.get("button"), request.get("lang")
    if text is None and button is None:
        return None, {"error": "missing field 'text'", "user": str(user)}
    if text is not None and not isinstance(text, str):
        return None, {"error": "field 'text' must be a string", "user": str(user)}
    if lang is not None and not isinstance(lang, str) or button is not None and not isinstance(button, str):
        return None, {"error": "fields 'lang' and 'button' must be strings", "user": str(user)}
    return Message(user=str(user), text=text or "", lang_hint=lang, button=button, channel="batch"), {}


def error_reply(problem: dict) -> dict:
    """A reply line for a request we could not read: still one line, with an "error" field."""
    return {"user": problem.get("user"), "text": "Sorry, I could not read that request.", "buttons": [],
            "lang": "en", "kind": "error", "topic": None, "flow": None, "step": None, "fallback": False,
            "confidence": 0.0, **problem}


_dumps = json.JSONEncoder(ensure_ascii=False).encode


@lru_cache(maxsize=2048)  # an answer's text is the same string object every time it is given: encoded once
def _text_json(text: str) -> str:
    return _dumps(text)


def reply_line(out: dict) -> str:
    """One reply object as a JSON line; its text (the long part, and mostly a cached answer) is encoded
    once per distinct text. The same JSON as json.dumps(out, ensure_ascii=False), fields in order."""
    if not isinstance(out.get("text"), str) or "user" not in out:
        return _dumps(out) + "\n"
    rest = {k: v for k, v in out.items() if k not in ("user", "text")}
    return (f'{{"user": {_dumps(out["user"])}, "text": {_text_json(out["text"])}'
            + (", " + _dumps(rest)[1:] if rest else "}") + "\n")


def answer(dialogue, line: str) -> dict:
    """The reply object for one request line."""
    message, problem = request_to_message(line)
    if message is not None:
        return dialogue.handle(message).to_json()
    if problem.get("user"):  # a known sender: answered in their language, their place kept
        return {**dialogue.handle(Message(user=problem["user"], channel="batch")).to_json(), **problem,
                "kind": "error"}
    return error_reply(problem)


def run(dialogue, stdin: IO[str], stdout: IO[str]) -> int:
    count = 0
    for line in stdin:
        if blank(line):
            continue
        try:
            out = answer(dialogue, line)
        except Exception:  # whatever a line does, it gets its one reply line and the run goes on
            log.exception("a batch request could not be answered")
            out = error_reply({"error": "internal error"})
        stdout.write(reply_line(out))
        stdout.flush()
        count += 1
    return count
