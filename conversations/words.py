"""The words that move a flow, in three languages: button labels, what people type, button ids.

The same vocabulary labels the buttons and parses typed text, so typing a button's label
does what pressing it does, on every channel.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from conversations.events import SIMPLE, Choose, Event, Tick, event_name
from conversations.machine import State
from conversations.model import LANGS, Flow, Step
from conversations.normal import key
from knowledge.text import has_phrase, normalize, phrase_needle

# Button labels, one per language.
LABELS: dict[str, dict[str, str]] = {
    "next": {"en": "Next", "es": "Siguiente", "zh": "下一步"},
    "back": {"en": "Back", "es": "Atrás", "zh": "上一步"},
    "cancel": {"en": "Cancel", "es": "Cancelar", "zh": "取消"},
    "restart": {"en": "Start over", "es": "Empezar de nuevo", "zh": "重新开始"},
    "done": {"en": "Done", "es": "Listo", "zh": "完成"},
    "continue": {"en": "Continue", "es": "Continuar", "zh": "继续"},
}

# What people type for each word, besides its label. A phrase must be the whole message.
# "ok" is in every language on purpose: it names no language, so parse() returns None for it.
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "next": {
        "en": ["next", "next step", "next please", "ok next", "okay next", "go on", "go ahead",
               "ok", "okay", "then what", "what next", "whats next", "and then"],
        "es": ["siguiente", "siguiente paso", "paso siguiente", "el siguiente", "sigue", "seguir",
               "adelante", "vale", "vale siguiente", "ok", "y ahora", "y luego", "y despues"],
        "zh": ["下一步", "下一个", "下一项", "往下", "然后呢", "接下来", "接下来呢", "好的",
               "好的下一步", "ok", "嗯", "嗯嗯", "恩", "好", "行"],
    },
    "continue": {
        "en": ["continue", "resume", "carry on", "keep going", "lets continue", "continue please"],
        "es": ["continuar", "continua", "continuemos", "reanudar", "seguimos", "sigamos"],
        "zh": ["继续", "继续吧", "接着来", "接着做", "接着办"],
    },
    "back": {
        "en": ["back", "go back", "previous", "previous step", "step back"],
        "es": ["atrás", "atras", "volver", "volver atrás", "anterior", "paso anterior", "regresar"],
        "zh": ["返回", "上一步", "上一个", "后退", "回到上一步", "退回"],
    },
    "cancel": {
        "en": ["cancel", "stop", "quit", "exit", "never mind", "forget it", "cancel this"],
        "es": ["cancelar", "salir", "parar", "basta", "déjalo", "olvídalo", "ya no"],
        "zh": ["取消", "退出", "不做了", "算了", "停止", "不用了", "不办了"],
    },
    "restart": {
        "en": ["start over", "restart", "start again", "begin again", "from the beginning", "from the start"],
        "es": ["empezar de nuevo", "reiniciar", "volver a empezar", "comenzar de nuevo",
               "desde el principio", "otra vez desde el principio"],
        "zh": ["重新开始", "从头开始", "重来", "从头来", "再来一遍"],
    },
    "done": {
        "en": ["done", "finished", "finish", "im done", "all done", "i finished", "i have finished"],
        "es": ["listo", "terminado", "hecho", "ya está", "ya terminé", "he terminado", "terminé"],
        "zh": ["完成", "完成了", "好了", "做完了", "办完了", "搞定", "搞定了"],
    },
}

MAX_BUTTON_BYTES = 64  # Telegram's limit on callback_data
# Room flow content must leave under the limit, so a channel can append a short tag to an id
# (the dialogue appends "@" and a step hash to tell presses on old messages).
TAG_ROOM = 8
PREFIX = "flow"


def _vocabulary() -> dict[str, tuple[str, frozenset[str]]]:
    """normalised phrase -> (word, languages it belongs to)."""
    found: dict[str, dict[str, set[str]]] = {}
    for word, by_lang in SYNONYMS.items():
        for lang in LANGS:
            for phrase in [LABELS[word][lang], *by_lang.get(lang, [])]:
                found.setdefault(key(phrase), {}).setdefault(word, set()).add(lang)
    clashes = {k: words for k, words in found.items() if len(words) > 1}
    if clashes:  # a phrase meaning two things would move users the wrong way
        raise ValueError(f"navigation phrases with two meanings: {clashes}")
    return {k: (word, frozenset(langs)) for k, words in found.items() for word, langs in words.items()}


VOCABULARY = _vocabulary()


def parse(text: str, flow: Flow | None = None, state: State | None = None) -> tuple[Event, str | None] | None:
    """The flow event a whole message asks for, and the language its words belong to.

    An option or checklist item of the current step wins over the navigation words (a step's
    own options are the more specific reading). Returns None for anything else, such as a real
    question that happens to contain "next"; the language is None when the words are shared
    by several languages ("ok", "Alipay").
    """
    typed = key(text)
    if not typed:
        return None
    step = _current_step(flow, state)
    if step is not None:
        for choice in step.choices:
            langs = _matching_langs(typed, choice.label, choice.aliases)
            if langs:
                return Choose(choice.id), _one(langs)
        for item in step.checklist:
            langs = _matching_langs(typed, item.label, {})
            if langs:
                return Tick(item.id), _one(langs)
    found = VOCABULARY.get(typed)
    if found is None:
        return None
    word, langs = found
    return SIMPLE[word], _one(langs)


def named_option(flow: Flow, norm: str, step: str | None = None) -> str | None:
    """The option of a step (by default the flow's first) that a longer message names ("guide me
    through it with Alipay", "用社保局app年审"), by its label or an alias as whole words; None when it
    names none or several. `norm` is the message normalised as the matcher reads it
    (knowledge.text.normalize)."""
    named = set()
    for choice in flow.steps[step or flow.start].choices:
        names = [*choice.label.values(), *(alias for words in choice.aliases.values() for alias in words)]
        for name in names:
            folded = normalize(name)
            if folded and has_phrase(norm, phrase_needle(folded)):
                named.add(choice.id)
    return named.pop() if len(named) == 1 else None


def repeats_last_choice(flow: Flow, state: State, text: str) -> bool:
    """Whether the text picks, on the previous step, the very option that led to the current one
    ("Alipay" again after the procedure started on the Alipay way): nothing to do but stay."""
    if not state.path:
        return False
    before = State(flow=state.flow, step=state.path[-1], path=state.path[:-1])
    parsed = parse(text, flow, before)
    if parsed is None or not isinstance(parsed[0], Choose):
        return False
    choice = flow.steps[before.step].choice(parsed[0].option)
    return choice is not None and choice.to == state.step


def label(word: str, lang: str) -> str:
    """A navigation button's label ("next", "es" -> "Siguiente"); English when lang is unknown."""
    return LABELS[word].get(lang, LABELS[word]["en"])


def button_id(flow_id: str, event: Event) -> str:
    """A stable id such as "flow:annual_review:choose:alipay"; raises ValueError over 64 bytes."""
    value = _compose(flow_id, event)
    if len(value.encode("utf-8")) > MAX_BUTTON_BYTES:
        raise ValueError(f"button id over {MAX_BUTTON_BYTES} bytes: {value!r}")
    return value


def button_bytes(flow_id: str, event: Event) -> int:
    """The size a button id would have, so validation can refuse ids that would not fit."""
    return len(_compose(flow_id, event).encode("utf-8"))


def parse_button(value: str) -> tuple[str, Event] | None:
    """(flow id, event) for a button id made by button_id; None for anything else."""
    if not isinstance(value, str) or not value.startswith(PREFIX + ":"):
        return None
    parts = value.split(":")
    if len(parts) == 3 and parts[1] and parts[2] in SIMPLE:
        return parts[1], SIMPLE[parts[2]]
    if len(parts) == 4 and parts[1] and parts[3]:
        if parts[2] == "choose":
            return parts[1], Choose(parts[3])
        if parts[2] == "tick":
            return parts[1], Tick(parts[3])
    return None


def _compose(flow_id: str, event: Event) -> str:
    name = event_name(event)
    if isinstance(event, Choose):
        return f"{PREFIX}:{flow_id}:{name}:{event.option}"
    if isinstance(event, Tick):
        return f"{PREFIX}:{flow_id}:{name}:{event.item}"
    return f"{PREFIX}:{flow_id}:{name}"


def _current_step(flow: Flow | None, state: State | None) -> Step | None:
    if flow is None or state is None or not state.active or state.flow != flow.id:
        return None
    return flow.steps.get(state.step)


def _matching_langs(
    typed: str, labels: Mapping[str, str], aliases: Mapping[str, Iterable[str]]
) -> set[str]:
    langs = {lang for lang, text in labels.items() if key(text) == typed}
    langs |= {lang for lang, words in aliases.items() if any(key(w) == typed for w in words)}
    return langs


def _one(langs: Iterable[str]) -> str | None:
    langs = set(langs)
    return langs.pop() if len(langs) == 1 else None
