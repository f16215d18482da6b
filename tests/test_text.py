"""knowledge.text: the normalisation and tokens shared by the knowledge base and what users type."""
from __future__ import annotations

import pytest

from knowledge.text import STOPWORDS, fold, has_cjk, normalize, stem, tokens


def toks(text: str) -> list[str]:
    return tokens(normalize(text))


# --- fold: case, width, accents, Traditional Chinese ------------------------------------------

@pytest.mark.parametrize("raw, folded", [
    ("When Is The ANNUAL Review", "when is the annual review"),
    ("ＡＢＣ１２３", "abc123"),
    ("Ｓｏｃｉａｌ　Ｓｅｃｕｒｉｔｙ", "social security"),  # full-width letters and the ideographic space
    ("１２月", "12月"),
    ("revisión", "revision"),
    ("¿CUÁNDO ES LA REVISIÓN?", "¿cuando es la revision?"),
    ("Pensión, jubilación, afiliación", "pension, jubilacion, afiliacion"),
    ("AÑO", "ano"),
    ("über", "uber"),
    ("社會保險", "社会保险"),
    ("年審", "年审"),
    ("醫療保險", "医疗保险"),
    ("養老金", "养老金"),
    ("勞動保障卡", "劳动保障卡"),
    ("APP做年審", "app做年审"),
])
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_fold_turns_full_width_punctuation_half_width_and_keeps_it():
    assert fold("社保卡，怎么办？") == "社保卡,怎么办?"
    assert fold("（社保）！") == "(社保)!"


def test_fold_keeps_simplified_chinese_and_plain_ascii_unchanged():
    assert fold("社保年审一般在几月份") == "社保年审一般在几月份"
    assert fold("plain ascii 123") == "plain ascii 123"


# --- normalize: fold plus punctuation to single spaces ---------------------------------------

@pytest.mark.parametrize("raw, norm", [
    ("Hello, World!!", "hello world"),
    ("what?!...the/card", "what the card"),
    ("¿Cuándo es la revisión anual?", "cuando es la revision anual"),
    ("社保卡，怎么办？", "社保卡 怎么办"),
    ("《社会保险法》第五十八条", "社会保险法 第五十八条"),
    ("Ｈｅｌｌｏ，ｗｏｒｌｄ！", "hello world"),
    ("  lots   of\tspace\n", "lots of space"),
    ("snake_case-and-dashes", "snake case and dashes"),
    ("“年審”", "年审"),
    ("？！。", ""),
    ("", ""),
])
def test_normalize(raw, norm):
    assert normalize(raw) == norm


def test_normalize_is_idempotent():
    for text in ["¿Cuándo es la REVISIÓN anual?", "社會保險，怎麼交？", "ＡＢＣ　１２３!!", "what's up"]:
        once = normalize(text)
        assert normalize(once) == once


def test_traditional_and_simplified_questions_normalise_alike():
    assert normalize("社保年審幾月份？") == normalize("社保年审几月份")
    assert normalize("社會保險怎麼繳費") == normalize("社会保险怎么缴费")


def test_has_cjk():
    assert has_cjk("APP做年审")
    assert has_cjk("社會")
    assert not has_cjk("revisión anual")
    assert not has_cjk("１２３")


# --- tokens ---------------------------------------------------------------------------------

def test_chinese_bigrams_split_at_function_characters():
    got = toks("社保年审要准备什么材料")
    for bigram in ("社保", "年审", "准备", "材料"):
        assert bigram in got
    # 要, 什, 么 are function characters: no bigram straddles them
    for straddling in ("审要", "要准", "备什", "么材", "什么"):
        assert straddling not in got


def test_chinese_single_characters_are_marked_tokens():
    got = toks("年审")
    assert "年审" in got
    assert {"u:年", "u:审"} <= set(got)
    assert "年" not in got  # bare characters never collide with Latin tokens


def test_chinese_punctuation_splits_runs():
    got = toks("社保卡，怎么办")
    assert "卡怎" not in got
    assert "社保" in got


def test_traditional_chinese_gives_the_same_tokens():
    assert toks("社會保險年審") == toks("社会保险年审")


@pytest.mark.parametrize("text, expected", [
    ("the", ["the"]),
    ("is it", ["is", "it"]),
    ("el de la", ["el", "de", "la"]),
    ("yo", ["yo"]),
    ("please could you", [stem("please"), "could", "you"]),
    ("我的", ["u:我", "u:的", "我的"]),
    ("是吗", ["u:是", "u:吗", "是吗"]),
])
def test_a_message_of_only_stop_words_keeps_them(text, expected):
    """Nothing else is left, so the stop words are what identifies a short reply such as "是吗"."""
    assert toks(text) == expected


@pytest.mark.parametrize("text, dropped", [
    ("is it the annual review", {"is", "it", "the"}),
    ("el de la revisión anual", {"el", "de", "la"}),
    ("yo pago la pensión", {"yo", "la"}),
    ("我的社保卡", {"u:我", "u:的", "我的", "的社"}),
    ("是吗社保年审", {"u:是", "u:吗", "是吗", "吗社"}),
])
def test_stop_words_are_dropped_when_a_content_word_is_left(text, dropped):
    got = toks(text)
    assert got and not dropped & set(got)


def test_stop_words_dropped_and_question_words_kept():
    en = toks("when is the annual review")
    assert "when" in en
    assert not {"is", "the"} & set(en)
    es = toks("cuándo es la revisión anual")
    assert stem("cuando") in es
    assert not {"es", "la"} & set(es)
    assert {"the", "el", "la", "de"} <= STOPWORDS
    assert not {"when", "how", "where", "cuando", "como", "donde"} & STOPWORDS


def test_accented_and_unaccented_spanish_give_the_same_tokens():
    assert toks("¿Cuándo es la revisión anual?") == toks("cuando es la revision anual")
    assert toks("¿Cómo pago la pensión?") == toks("como pago la pension")


def test_numbers_are_kept_whole():
    assert "2024" in toks("annual review 2024")
    assert stem("2024") == "2024"


def test_short_words_are_not_stemmed():
    for word in ("app", "id", "mes", "pay"):
        assert stem(word) == word


@pytest.mark.parametrize("words", [
    ("registration", "registro", "registrar", "registrado"),
    ("payment", "paying", "pays"),
    ("pagar", "pago", "pagos", "pagando"),
    ("review", "reviews", "reviewing"),
    ("month", "months"),
    ("card", "cards"),
    ("mes", "meses"),
    ("empresa", "empresas"),
    ("empleado", "empleados"),
    ("certification", "certificar", "certificación"),
    ("declaración", "declarar", "declaro"),
    ("afiliación", "afiliar"),
    ("contratación", "contratar"),
    ("cuota", "cuotas"),
    ("revision", "revisiones"),
])
def test_stems_meet(words):
    stems = {stem(normalize(w)) for w in words}
    assert len(stems) == 1, dict(zip(words, map(stem, words)))


def test_pronouns_and_the_pieces_of_contractions_are_no_evidence():
    assert tokens(normalize("He can't pay his own insurance himself")) == [stem(w) for w in ("can", "pay", "own", "insurance")]


def test_register_meets_registration():
    assert stem("register") == stem("registration") == stem("registering") == stem("registers")


def test_plural_of_er_nouns_meets_singular():
    assert stem("employers") == stem("employer")
    assert stem("workers") == stem("worker")


@pytest.mark.parametrize("one, other", [
    ("enrol", "register"), ("apuntarme", "inscribirse"), ("afiliacion", "registro"),  # signing up, however said
    ("damos", "dar"), ("doy", "darse"),  # "dar de alta" in every person
    ("pensioner", "jubilados"), ("paid", "pagamos"), ("cellphone", "movil"), ("rostro", "selfie"),
])
def test_words_of_one_family_meet(one, other):
    assert stem(one) == stem(other)


@pytest.mark.parametrize("one, other", [
    ("employer", "employee"), ("empleador", "empleado"),  # who hires is not who is hired
    ("pensioner", "pension"),  # the person is not the money
    ("socios", "social"),  # business partners are not "social"
    ("usa", "tarjeta"),
])
def test_words_of_different_families_stay_apart(one, other):
    assert stem(one) != stem(other)


def test_the_spanish_verb_usa_is_use_and_not_a_country():
    assert stem("usa") == stem("use") == stem("usamos")


def test_families_file_is_valid_and_a_clash_is_reported(tmp_path):
    from knowledge.text import read_families

    assert read_families()[2] == []
    bad = tmp_path / "families.yaml"
    bad.write_text("one:\n  en: [alpha, beta*]\ntwo:\n  es: [beta, 'two words']\nBad Name:\n  en: [x]\nempty: {}\n",
                   encoding="utf-8")
    words, stems, problems = read_families(bad)
    assert words == {"alpha": "one", "beta": "one"} and stems == {"bet": "one"}  # beta* by its stem
    assert any("'beta' is already in family 'one'" in p for p in problems)
    assert any("'two words' is not one word" in p for p in problems)
    assert any("Bad Name: a family name is lowercase" in p for p in problems)
    assert any("empty: must list its words" in p for p in problems)


def test_short_memo_remembers_short_texts_only():
    from knowledge.memo import SHORT, short_memo

    calls = []

    @short_memo(maxsize=8)
    def shout(text):
        calls.append(text)
        return text.upper()

    assert shout("hola") == shout("hola") == "HOLA"
    assert calls == ["hola"]  # the second call was remembered
    long_text = "x" * (SHORT + 1)
    assert shout(long_text) == shout(long_text) == long_text.upper()
    assert calls == ["hola", long_text, long_text]  # a long text is computed each time, never kept
    assert shout.cache_info().currsize == 1


def test_normalize_gives_the_same_answer_remembered_or_not():
    from knowledge.memo import SHORT

    short = "¿Cuándo es la REVISIÓN anual?"
    assert normalize(short) == normalize(short) == "cuando es la revision anual"
    long_text = short + " " + "ａ" * SHORT
    assert normalize(long_text) == "cuando es la revision anual " + "a" * SHORT
