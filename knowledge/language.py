"""Which language a message is written in: Chinese by its script, Spanish and English by their words.

Returns None when the text does not say (a number, "Alipay", an emoji), so the caller
falls back to the user's stored language instead of guessing.
"""
from __future__ import annotations

import re
import unicodedata

from knowledge.memo import short_memo

LANGS: tuple[str, ...] = ("en", "es", "zh")  # the languages the bot answers in, in the order it lists them

# Which characters are Chinese (Han): the unified ideographs and their extensions, and the compatibility
# ideographs. The one definition: tokens, Traditional-to-Simplified folding and detection all use it.
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))
HAN = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in HAN_RANGES)  # for a regex character class
CJK = re.compile(f"[{HAN}]")


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def lower(text: str) -> str:
    """Width and case folded away (NFKC, casefold), accents kept: what detection reads, and the first
    step of knowledge.text.fold."""
    return unicodedata.normalize("NFKC", text).casefold()


_WORD = re.compile(r"[^\W\d_]+")
_SPANISH_MARKS = set("ñ¿¡áéíóú")

# Frequent function words and the domain's everyday words; each list holds words that are
# rare in the other language, so a single hit is already evidence.
_ES = set(
    """
    el la los las un una unos unas del al y o en que qué es son está están estoy hay por para con sin sobre mi mis tu su sus
    yo me te se le lo nos como cómo cuando cuándo cuanto cuánto donde dónde quien quién cual cuál porque pero muy más mas
    hola buenas buenos dias días tardes gracias vale adiós adios ayuda ayúdame ayudame quiero puedo puede necesito tengo tiene
    hacer hago hace pagar pago pagos cuota cuotas seguro seguridad tarjeta revisión revision anual empresa empresas trabajador
    trabajo autónomo autonomo meses mes año años ley artículo articulo dice qué hacen sirve papeles formulario banco ventanilla
    siguiente atrás atras anterior volver salir cancelar continuar listo empezar nuevo sí si también tambien ahora dónde cliente
    certificación certificacion móvil movil teléfono telefono cara foto documento paso pasos guíame guiame explícame explicame
    de alta afiliación registro inscribir jubilación jubilacion pensión pension desempleo maternidad gestión gestion centro
    """.split()
)
_EN = set(
    """
    the an and or is are was were be am do does did what when where who whom whose which why how can could should would will
    i my you your we our they their he she it its this that these those there here to of in on at for with from by about
    hello hi hey thanks thank please yes help next back cancel continue stop quit done start over
    pay paying payment card review annual yearly month months company employer employee worker law article says say
    social security insurance phone app online face photo check checks need needs get apply register registration money
    walk guide through step steps me much many any some have has had want wanna gonna just also still get my mom dad
    """.split()
)

# A word both languages use is no evidence for either.
_ES, _EN = _ES - _EN, _EN - _ES


@short_memo()
def detect(text: str) -> str | None:
    """'zh', 'es', 'en', or None when the text gives no sign of its language."""
    return detect_lowered(lower(text))


def detect_lowered(lowered: str) -> str | None:
    """detect() of a text already lower()ed: knowledge.text.read lowers a message once for everything."""
    cjk = len(CJK.findall(lowered))
    if cjk:
        letters = sum(1 for c in lowered if c.isalpha())
        if cjk >= 2 or cjk * 3 >= letters:
            return "zh"
    words = _WORD.findall(lowered)
    if not words:
        return None
    es = sum(1 for w in words if w in _ES) + 2 * sum(1 for c in lowered if c in _SPANISH_MARKS)
    en = sum(1 for w in words if w in _EN)
    if es > en:
        return "es"
    if en > es:
        return "en"
    return None
