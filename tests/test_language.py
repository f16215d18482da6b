"""knowledge.language.detect: Chinese by its script, Spanish and English by their words, None when unclear."""
from __future__ import annotations

import pytest

from knowledge.language import detect

CHINESE = [
    "社保年审几月",
    "社保年审一般在几月份？",
    "社會保險怎麼交",  # Traditional
    "社保年審幾月份",  # Traditional
    "APP做年審",  # mixed Latin and Traditional
    "用Alipay做年审",
    "what is 社保",
    "我的社保卡丢了",
    "年审",
    "社保",
    "醫保",
    "养老金",
    "新员工怎么登记？",
    "支付宝年审怎么弄",
    "公司没给我交社保怎么办",
    "我在深圳，怎么交社保",
    "灵活就业怎么缴费",
    "请问社保卡有什么用",
    "下一步",
    "取消",
    "我",
]

SPANISH = [
    "cuando es la revision anual",
    "¿Cuándo es la revisión anual?",
    "CUANDO ES LA REVISION ANUAL",
    "como pago el seguro social yo mismo",
    "mi empresa no paga la seguridad social",
    "que papeles necesito para la revision",
    "donde hago la revision anual",
    "necesito ayuda con la tarjeta",
    "hola buenos dias",
    "hola",
    "gracias",
    "para que sirve la tarjeta de la seguridad social",
    "se me perdio la tarjeta",
    "mi madre esta jubilada",
    "cómo me doy de alta",
    "Qué dice la ley sobre el registro",
    "el empleador tiene que pagar",
    "cuanto tengo que pagar al mes",
    "quiero pagar el seguro por mi cuenta",
    "tengo que hacer la revision este año",
    "puedo hacerlo con el movil",
    "siguiente",
    "atrás",
    "atras",
    "cancelar",
    "¿Y ahora qué?",
    "soy autonomo",
    "¿Sí?",
]

ENGLISH = [
    "when is the annual review",
    "WHEN IS THE ANNUAL REVIEW",
    "how do I pay social insurance myself",
    "my employer does not pay my social security",
    "what does the annual review check",
    "what documents do I need",
    "where can I do the review",
    "I lost my card",
    "hello",
    "hi",
    "thanks",
    "thank you so much",
    "what is the card for",
    "my mom is retired",
    "how do I register a new employee",
    "what does the law say",
    "can my employer postpone paying",
    "next",
    "back",
    "cancel",
    "help",
    "what is social insurance",
    "how much do I have to pay every month",
    "Is it the same in every city?",
    "guide me through it",
    "ｗｈｅｎ ｉｓ ｔｈｅ ｒｅｖｉｅｗ",  # full width
]

UNCLEAR = [
    "12345",
    "2024",
    "13812345678",
    "👍",
    "👎",
    "🙂🙂",
    "Alipay",
    "alipay",
    "WeChat",
    "alipay wechat",
    "iPhone 15",
    "???",
    "...",
    "",
    "   ",
    "ＡＢＣ",
    "A1",
]


@pytest.mark.parametrize("text", CHINESE)
def test_chinese(text):
    assert detect(text) == "zh"


@pytest.mark.parametrize("text", SPANISH)
def test_spanish(text):
    assert detect(text) == "es"


@pytest.mark.parametrize("text", ENGLISH)
def test_english(text):
    assert detect(text) == "en"


@pytest.mark.parametrize("text", UNCLEAR)
def test_no_clear_language(text):
    assert detect(text) is None


@pytest.mark.parametrize("text", ["ok", "OK", "okay", "Ok!"])
def test_ok_names_no_language(text):
    assert detect(text) is None


@pytest.mark.parametrize("with_accents, without", [
    ("¿Cuándo es la revisión anual?", "cuando es la revision anual"),
    ("¿Cómo pago la pensión?", "como pago la pension"),
    ("Atrás", "atras"),
    ("¿Dónde está la oficina?", "donde esta la oficina"),
])
def test_spanish_with_and_without_accents(with_accents, without):
    assert detect(with_accents) == detect(without) == "es"


def test_spanish_marks_alone_tip_the_balance():
    # an inverted question mark is Spanish evidence even around words both languages use
    assert detect("¿app?") == "es"


def test_one_chinese_character_in_latin_text_is_not_enough():
    assert detect("the card 卡 is lost and I need help with the review") == "en"

