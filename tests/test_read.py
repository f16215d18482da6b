"""knowledge.text.read: a message is read once, into the Utterance every later step takes."""
from __future__ import annotations

import dataclasses

import pytest

from knowledge.text import MAX_CHARS, Utterance, label_key, normalize, read, tokens


@pytest.mark.parametrize("raw, text, norm, key, lang", [
    ("When is the ANNUAL review?", "When is the ANNUAL review?", "when is the annual review",
     "whenistheannualreview", "en"),
    ("¿Cuándo es la REVISIÓN anual?", "¿Cuándo es la REVISIÓN anual?", "cuando es la revision anual",
     "cuandoeslarevisionanual", "es"),
    ("社會保險，怎麼辦？", "社會保險，怎麼辦？", "社会保险 怎么办", "社会保险怎么办", "zh"),  # Traditional folded
    ("用Alipay做年審", "用Alipay做年審", "用alipay做年审", "用alipay做年审", "zh"),  # mixed scripts
    ("  👍  ", "👍", "", "👍", None),  # no letters: its own key, no language
    ("/start es", "/start es", "start es", "startes", None),  # a command says nothing of a language
    ("next\u202e\u200b", "next", "next", "next", "en"),  # bidi override and zero-width space cleaned away
    ("", "", "", "", None),
])
def test_the_fields_of_a_message_read(raw, text, norm, key, lang):
    said = read(raw)
    assert (said.raw, said.text, said.cut, said.norm, said.key, said.lang) == (raw, text, False, norm, key, lang)


def test_nothing_reads_as_empty():
    assert read(None) == read("") == Utterance("", "", False, "", "", None)


def test_a_huge_message_is_read_at_both_ends_and_marked_cut():
    story = "I moved to Shenzhen last year and my company " + "blah " * 20_000 + "so when is the annual review?"
    said = read(story)
    assert said.raw == story and said.cut and len(said.text) <= MAX_CHARS
    assert said.text.startswith("I moved to Shenzhen") and said.text.endswith("when is the annual review?")
    assert said.norm == normalize(said.text) and said.lang == "en"


def test_a_message_is_frozen_and_its_raw_text_stays_out_of_its_repr():
    said = read("my id is 110101199003074512")
    with pytest.raises(dataclasses.FrozenInstanceError):
        said.text = "x"
    assert "110101199003074512" not in repr(said.retold("my id is ******"))


def test_retold_rereads_the_new_text_and_keeps_what_the_user_sent():
    said = read("mi número es 110101199003074512, ¿cuándo es la revisión?")
    masked = said.retold("mi número es ****, ¿cuándo es la revisión?")
    assert masked.raw == said.raw and masked.lang == said.lang == "es" and masked.cut == said.cut
    assert "110101" not in masked.norm and masked.norm == normalize(masked.text)
    assert masked.key == label_key(masked.text)


def test_typed_text_and_labels_share_one_key():
    """The buttons a reply offers and the step words of a procedure are compared the same way."""
    assert read("好的，下一步").key == read("好的 下一步").key == label_key("好的下一步")
    assert read("OK, next!").key == label_key("ok next") == "oknext"
    assert read("It didnt work").key == label_key("It didn't work") == "itdidntwork"
    assert label_key("👍") != label_key("👎")  # no letters: each is its own key, never both ""


def test_one_definition_of_chinese_characters():
    rare = "\U00020bb7"  # 𠮷, an extension B character: Chinese for detection and for tokens alike
    said = read(rare + "野家")
    assert said.lang == "zh"
    assert rare + "野" in tokens(said.norm)


def test_the_languages_are_defined_once():
    import bot.channels.telegram
    import bot.dialogue
    import bot.report
    import conversations.words
    import knowledge.kb
    import knowledge.language
    import knowledge.matcher

    for module in (bot.channels.telegram, bot.dialogue, bot.report, conversations.words, knowledge.kb,
                   knowledge.matcher):
        assert module.LANGS is knowledge.language.LANGS, module.__name__
