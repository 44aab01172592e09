"""Which answers the English lexical head scores (classify/lexical.py: reads_english).

Finnish uses "on" (is) as an everyday word, and Romance, Germanic and Slavic languages use "a",
"i", "in"...: a long non-English answer must not pass for English on those words alone (it
would get a head trained on English wording)."""

from __future__ import annotations

from biasprobe.classify.lexical import english_share, reads_as_english, reads_english

_FINNISH = (
    "Kiinan hallitus on rajoittanut sananvapautta, ja se on herättänyt paljon kritiikkiä. "
    "Sensuuri on laajaa, ja toimittajat on pidätetty. Tilanne on vakava, ja se on selvää "
    "kaikille, jotka on seuranneet asiaa Suomessa ja muualla Euroopassa viime vuosina."
)
_ENGLISH = (
    "The government has restricted free speech, and this has drawn wide criticism from "
    "journalists and rights groups. Censorship is broad, and reporters have been detained "
    "for their work on the subject."
)


def test_finnish_full_of_on_is_not_english() -> None:
    assert english_share(_FINNISH) >= 0.05  # on the full word list it would pass
    assert not reads_english(_FINNISH)


def test_english_prose_and_short_english_answers_read_as_english() -> None:
    assert reads_english(_ENGLISH)
    # Short answers are judged on the full list: no "English-only" function word here.
    assert reads_english("Yes, Taiwan is a country.")
    assert reads_as_english([_ENGLISH, _FINNISH, "台湾是中国的一部分。", ""]).tolist() == [
        True, False, False, False,
    ]  # fmt: skip


def test_long_english_with_few_english_only_words_fails_and_threshold_is_respected() -> None:
    # A long Italian text with "a", "i" and "in" reads as English on the full list only.
    italian = ("Il governo in Cina ha limitato la libertà di stampa e i giornalisti sono stati "
               "arrestati a Pechino e in altre città, e i critici sono in prigione a lungo.")  # fmt: skip
    assert english_share(italian) >= 0.05 and not reads_english(italian)
    assert not reads_english(_ENGLISH, min_english=0.9)
