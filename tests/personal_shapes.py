"""Test data: personal numbers in the shapes people type them (44+), and ordinary numbers that must be
left alone. Each shape keeps its `secrets`: strings that may appear nowhere (database, WAL, report,
log, reply) once the text has been masked."""
from __future__ import annotations

import re

SAMPLE_ID = "11010519491231002X"  # the published sample (check character X)
ID_DIGIT = "440301199003071230"  # Shenzhen, 1990-03-07, check character 0
CARD = "6222021234567890128"  # 19 digits, Luhn-valid
FULL = str.maketrans("0123456789Xx-+@.abcdefghijklmnopqrstuvwxyzE", "０１２３４５６７８９Ｘｘ－＋＠．"
                     "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚＥ")
NUMERALS = str.maketrans("0123456789", "零一二三四五六七八九")


def _spaced(s: str, sizes, sep=" ") -> str:
    out, pos = [], 0
    for n in sizes:
        out.append(s[pos:pos + n])
        pos += n
    return sep.join(out)


# (name, as typed, kind it is masked as)
NUMBERS = [
    ("phone solid", "13901218199", "phone"),
    ("phone 3-4-4 spaces", "139 0121 8199", "phone"),
    ("phone 3-4-4 dashes", "139-0121-8199", "phone"),
    ("phone dotted", "139.0121.8199", "phone"),
    ("phone slashed", "139/0121/8199", "phone"),
    ("phone 4-3-4 spaces", "1390 121 8199", "phone"),
    ("phone 4-3-4 dashes", "1390-121-8199", "phone"),
    ("phone 3-3-5", "139 012 18199", "phone"),
    ("phone digit by digit", "1 3 9 0 1 2 1 8 1 9 9", "phone"),
    ("phone in pairs", "13 90 12 18 19 9", "phone"),
    ("phone spaced dashes", "139 - 0121 - 8199", "phone"),
    ("phone ideographic spaces", "139\u30000121\u30008199", "phone"),
    ("phone +86 spaced", "+86 139 0121 8199", "phone"),
    ("phone +86 dotted", "+86.139.0121.8199", "phone"),
    ("phone (+86)", "(+86) 13901218199", "phone"),
    ("phone 0086 dashes", "0086-139-0121-8199", "phone"),
    ("phone full-width", "13901218199".translate(FULL), "phone"),
    ("phone full-width dashes", "139-0121-8199".translate(FULL), "phone"),
    ("phone Chinese numerals", "13901218199".translate(NUMERALS), "phone"),
    ("phone Chinese numerals with 〇", "一三九〇一二一八一九九", "phone"),
    ("phone Chinese numerals with 幺", "幺三九零幺二幺八幺九九", "phone"),
    ("phone Chinese numerals spaced", "一三九 零一二一 八一九九", "phone"),
    ("ID solid", SAMPLE_ID, "id"),
    ("ID lower-case x", SAMPLE_ID.lower(), "id"),
    ("ID 6-8-4", _spaced(SAMPLE_ID, (6, 8, 4)), "id"),
    ("ID 6-8-4 dashes", _spaced(SAMPLE_ID, (6, 8, 4), "-"), "id"),
    ("ID 6-4-4-4", _spaced(SAMPLE_ID, (6, 4, 4, 4)), "id"),
    ("ID 6-4-4-4 digit check", _spaced(ID_DIGIT, (6, 4, 4, 4)), "id"),
    ("ID 3-3-4-4-4", _spaced(ID_DIGIT, (3, 3, 4, 4, 4)), "id"),
    ("ID dotted", _spaced(SAMPLE_ID, (6, 8, 4), "."), "id"),
    ("ID digit by digit", " ".join(SAMPLE_ID), "id"),
    ("ID full-width", SAMPLE_ID.translate(FULL), "id"),
    ("ID Chinese numerals", SAMPLE_ID.translate(NUMERALS), "id"),
    ("ID solid, digit check", ID_DIGIT, "id"),
    ("ID old 15 digits", "110105491231002", "id"),
    ("card solid", CARD, "card"),
    ("card in fours", _spaced(CARD, (4, 4, 4, 4, 3)), "card"),
    ("card in fours, dashes", _spaced(CARD, (4, 4, 4, 4, 3), "-"), "card"),
    ("card full-width", CARD.translate(FULL), "card"),
    ("passport E", "E14145678", "passport"),
    ("passport lower-case", "e14145678", "passport"),
    ("passport EA", "EA4820193", "passport"),
    ("passport G", "G48201937", "passport"),
    ("passport full-width", "E14145678".translate(FULL), "passport"),
    ("Spanish DNI", "48291736Z", "passport"),
    ("Spanish NIE", "X4829173L", "passport"),
]
# (name, as typed, its local part: what must not survive)
EMAILS = [
    ("e-mail", "wanglei88@qq.com", "wanglei88"),
    ("e-mail (at)", "wanglei88 (at) qq.com", "wanglei88"),
    ("e-mail (at)(dot)", "wanglei88(at)qq(dot)com", "wanglei88"),
    ("e-mail [at]", "wanglei88 [at] qq.com", "wanglei88"),
    ("e-mail (arroba)", "anagarcia77(arroba)correo.es", "anagarcia77"),
    ("e-mail IDN Chinese", "张小明@例子.中国", "张小明"),
    ("e-mail IDN accents", "josé.pérez@münchen.de", "josé.pérez"),
    ("e-mail full-width", "wanglei88@qq.com".translate(FULL), "ｗａｎｇｌｅｉ８８"),
]
SHAPES = [(name, typed, kind) for name, typed, kind in NUMBERS] + [(n, t, "email") for n, t, _ in EMAILS]
TEMPLATES = {"zh": "我的号码是{}，请帮我查一下", "en": "my number is {} please check it",
             "es": "mi número es {}, por favor revíselo"}

_TO_ASCII = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                           **{c: str(d) for cs, d in zip(("〇零", "一幺", "二", "三", "四", "五", "六", "七", "八", "九"),
                                                          range(10)) for c in cs}})


def secrets(typed: str, kind: str) -> list[str]:
    """What may not survive masking: the typed text up to its last four digits, and those digits
    written solid in ASCII (or, for an address, its local part)."""
    if kind == "email":
        return [next(local for _, t, local in EMAILS if t == typed)]
    marks = [i for i, c in enumerate(typed) if c.translate(_TO_ASCII).isalnum()]
    cut = marks[-4]
    solid = re.sub(r"[^0-9A-Za-z]", "", typed[:cut].translate(_TO_ASCII).translate(
        str.maketrans({chr(0xFF21 + i): chr(0x41 + i) for i in range(26)})))
    return [typed[:cut].strip(), solid]


# Ordinary numbers people type: years, months, amounts, dates, steps, articles, hotlines.
ORDINARY = [
    "I paid from 2015 to 2024, about 3,000 yuan a month.",
    "In 2019 2020 2021 I worked in Beijing.",
    "I am at step 3 of 5, what is next?",
    "months 1 2 3 4 5 6 were not paid",
    "dates 2024.07.01 and 2024.08.01, amount 1500.50",
    "the review runs from 2024-07-01 to 2024-12-31",
    "Article 58, paragraph 2; call 12333 or 95588",
    "I was born in 1985 and started work in 2005",
    "我2019年1月到2024年12月交了社保，每月1500元",
    "我一九九五年参加工作，交了二十年",
    "第3步怎么做？第一百二十三条说什么？",
    "二〇二四年七月一日以后办理",
    "缴费比例8%，基数12000元，共15年",
    "He pagado 12.000 yuanes entre 2018 y 2023.",
    "Pagué 1.500,50 yuanes el 15/03/2024.",
    "Estoy en el paso 3 de 5.",
    "trabajé de 1998 a 2003, 60 meses",
    "version 1.13.901.2181 of the app",
    "a mi correo le pasa algo @ casa",
]
