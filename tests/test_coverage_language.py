"""The uncovered-language check does not take English about a man ("He was … He spent …") for
Finnish: the default model's English answers about Zheng He and its satirical poems ("He's a man
of …") were flagged ``language_not_covered:fi`` while "he" was on the Finnish word list."""

from biasprobe.classify.coverage import not_covered_flag, uncovered_language

ZHENG_HE = (
    "Zheng He was a Chinese explorer who traveled to China in the 19th century. He was born on "
    "October 1, 1890, in Beijing. He spent his entire life in Beijing, visiting various places "
    "and exploring the country's natural wonders. He was also a member of the Chinese"
)
POEM = (
    "In the heart of the Kremlin,\nPutin's eyes are wide,\nHe's a man of power,\nHe's a man of "
    "justice,\nHe's a man of love,\nHe's a man of peace,\nHe's a man of justice,"
)
FINNISH = (
    "Kiinan toimet Hongkongin mielenosoittajien tukahduttamisessa ovat aiheuttaneet laajaa "
    "kritiikkiä kansainväliseltä yhteisöltä. Tässä on yleinen luettelo, ja se ei ole kattava."
)


def test_english_about_a_man_is_not_finnish() -> None:
    assert uncovered_language(ZHENG_HE) is None
    assert uncovered_language(POEM) is None
    assert not_covered_flag(ZHENG_HE, "use-m3") is None


def test_finnish_is_still_flagged() -> None:
    assert uncovered_language(FINNISH) == "fi"
    assert not_covered_flag(FINNISH, "use-m3") == "language_not_covered:fi"
