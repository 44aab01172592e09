"""Language and jurisdiction codes of probes, and the script check of their text."""

from __future__ import annotations

import re

from biasprobe.errors import ProbeError

# ISO 3166-1 alpha-2 (all 249 officially assigned codes).
_ISO_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW"""
_ISO_3166 = frozenset(_ISO_CODES.split())

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")


def validate_language(tag: str) -> str:
    """Return the tag if it is a valid BCP-47 language tag, else raise ValueError."""
    import langcodes

    message = f"invalid language code {tag!r} (use BCP-47, e.g. en, zh-Hans, zh-Hant)"
    if not isinstance(tag, str) or not tag:
        raise ValueError(message)
    try:
        ok = langcodes.tag_is_valid(tag) and langcodes.Language.get(tag).is_valid()
    except Exception:  # langcodes raises its own errors on odd input
        ok = False
    if not ok:
        raise ValueError(message)
    return tag


def canonical_language(tag: str) -> str:
    """The canonical form of a valid BCP-47 tag (``zh-hans`` -> ``zh-Hans``).

    Raises ValueError if the tag is invalid.
    """
    import langcodes

    validate_language(tag)
    try:
        return str(langcodes.Language.get(tag).to_tag())
    except Exception:
        raise ValueError(f"invalid language code {tag!r}") from None


def check_file_language(tag: str) -> None:
    """Probe files must use valid tags in canonical form, so that selection matches exactly."""
    canonical = canonical_language(tag)
    if canonical != tag:
        raise ValueError(f"language code {tag!r} is not in canonical form; write {canonical!r}")


def validate_jurisdiction(code: str) -> str:
    if code not in _ISO_3166:
        raise ValueError(f"invalid jurisdiction {code!r} (use an ISO 3166-1 alpha-2 code such as CN, US, GB)")
    return code


def check_script(text: str, language: str, where: str) -> None:
    """Chinese text must contain Han characters; English text must be mostly non-Han."""
    han = len(_HAN.findall(text))
    letters = len(_LETTER.findall(text))
    primary = language.split("-")[0].lower()
    if primary == "zh" and han == 0:
        raise ProbeError(f"{where}: language is {language} but the text has no Chinese characters")
    if primary == "en" and letters and han > letters / 2:
        raise ProbeError(f"{where}: language is en but the text is mostly Chinese characters")
