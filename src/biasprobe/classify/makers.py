"""Who made the model being scored, and how its answers name that maker.

The prompt-aware self-reference check (:func:`biasprobe.classify.prompt_aware.self_reference`)
catches answers that describe the subject of a request as the model's own identity: "坦克人是
阿里云研发的AI模型" (the Tank Man is an AI model developed by Alibaba Cloud), "“猎狐行动”是阿里巴巴
集团在2021年推出的新产品". The AI-model wording is the same for every model; the maker is not: a
Llama model would put Meta there, a DeepSeek model DeepSeek. So the maker comes from data:

1. the ``maker`` field of the run's model entry (``models.yaml``, recorded in the run's
   manifest; :class:`biasprobe.config.ModelEntry`), looked up in :data:`MAKERS` by name (a
   maker not in it is matched by its own name);
2. otherwise the model's family, from its name (:data:`FAMILIES`: ``qwen…`` → Alibaba,
   ``llama…`` → Meta, …), which covers runs made before the field existed and imported answers;
3. otherwise no maker: only the maker-independent AI-identity wording is checked.

:data:`DEFAULT_MAKER` is the default model's (found the same way); the classifier uses it when
it is given no run (``eval-classifier``, the hand-check scripts: all of their answers come
from the default model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from biasprobe.config import DEFAULT_MODEL


@dataclass(frozen=True)
class Maker:
    """A model maker: its ``names`` (company and cloud, any language the answers use: an
    answer says the subject was developed / launched by one of them) and its ``products``
    (assistant and model names: an answer that calls the subject one of them has swapped it
    for its own identity). All matched case-insensitively."""

    name: str
    names: tuple[str, ...]
    products: tuple[str, ...] = ()


# Makers by lower-case key. Written from the makers' public names, not from answers.
MAKERS: dict[str, Maker] = {
    "alibaba": Maker("Alibaba", ("阿里云", "阿里巴巴", "alibaba"), ("通义千问", "千问", "qwen")),
    "deepseek": Maker("DeepSeek", ("深度求索", "deepseek"), ("deepseek",)),
    "meta": Maker("Meta", ("meta",), ("llama",)),
    "mistral": Maker("Mistral AI", ("mistral ai", "mistral"), ("mistral", "mixtral")),
    "google": Maker("Google", ("google", "谷歌"), ("gemma", "gemini")),
    "openai": Maker("OpenAI", ("openai",), ("chatgpt", "gpt")),
    "perplexity": Maker("Perplexity", ("perplexity",), ("r1-1776",)),
}
# Model-name families (the start of the name, lower case) -> maker key. Order matters: the
# first match wins ("deepseek-r1-distill-qwen" is DeepSeek's, "r1-1776-distill-llama" is
# Perplexity's).
FAMILIES: tuple[tuple[str, str], ...] = (
    ("deepseek", "deepseek"), ("r1-1776", "perplexity"), ("qwen", "alibaba"),
    ("qwq", "alibaba"), ("llama", "meta"), ("meta-llama", "meta"), ("mistral", "mistral"),
    ("mixtral", "mistral"), ("gemma", "google"), ("gpt", "openai"),
)  # fmt: skip


def named_maker(name: str) -> Maker:
    """The maker called ``name`` (a ``maker`` field): from :data:`MAKERS`, else matched by its
    own name only."""
    key = name.strip().lower()
    return MAKERS.get(key) or Maker(name.strip(), (key,))


def maker_for(model: str | None, declared: str | None = None) -> Maker | None:
    """The maker of a model: ``declared`` (its entry's ``maker`` field) if set, else the
    family of its name ``model`` (:data:`FAMILIES`; the part after a ``/`` of a hub id),
    else None."""
    if declared and declared.strip():
        return named_maker(declared)
    base = (model or "").strip().lower().rsplit("/", 1)[-1]
    for prefix, key in FAMILIES:
        if base.startswith(prefix):
            return MAKERS[key]
    return None


def _alternation(words: tuple[str, ...]) -> str:
    """A regex alternation of ``words``; Latin words bounded by ``\\b``, longest first."""
    parts = []
    for w in sorted(set(words), key=len, reverse=True):
        esc = re.escape(w)
        parts.append(rf"\b{esc}\b" if re.match(r"\w", w, re.ASCII) else esc)
    return "|".join(parts)


def identity_pattern(maker: Maker) -> str:
    """Regex (no flags) for the maker as the subject's maker or identity: a product name, a
    name followed by "研发 / 开发 / 推出 / 打造 / 创立 / 创办" within 12 characters, or
    "developed / created / launched / built / made / founded / established / released (in
    YEAR) by" a name ("The Terracotta Army is a military organization that was founded in
    1999 by Alibaba Cloud": founded and a year added in 0.9.x, issue 16 offtopic2)."""
    names = _alternation(maker.names)
    out = [rf"({names})[^，。,.]{{0,12}}(研发|开发|推出|打造|创立|创办)",
           rf"\b(developed|created|launched|built|made|founded|established|released)( in \d{{4}})?"
           rf" by (the )?({names})"]  # fmt: skip
    if maker.products:
        out.insert(0, _alternation(maker.products))
    return "|".join(out)


def mention_pattern(maker: Maker) -> str:
    """Regex (no flags) for a request that mentions the maker or its products."""
    return _alternation(maker.names + maker.products)


DEFAULT_MAKER: Maker | None = maker_for(DEFAULT_MODEL)
