"""JSON Lines in, one JSON line out per request, flushed, in order (the protocol in ../shared/DESIGN.md)."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import IO

from bot.messages import Message

_FIELDS = ("user", "text", "lang", "button")


def request_to_message(line: str) -> tuple[Message | None, dict]:
    """The Message a request line asks for, or None and an error reply object."""
    try:
        request = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return None, {"error": f"invalid JSON: {err.msg}"}
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


def run(dialogue, stdin: IO[str], stdout: IO[str]) -> int:
    count = 0
    for line in stdin:
        if not line.strip():
            continue
        message, problem = request_to_message(line)
        if message is not None:
            out = dialogue.handle(message).to_json()
        elif problem.get("user"):  # a known sender: answered in their language, their place kept
            out = {**dialogue.handle(Message(user=problem["user"], channel="batch")).to_json(), **problem,
                   "kind": "error"}
        else:
            out = error_reply(problem)
        stdout.write(reply_line(out))
        stdout.flush()
        count += 1
    return count
