"""Is a paired comparison a comparison of models? What else differs between two runs.

``diff`` and ``compare`` pair the answers of two runs by (prompt id, sample) and read every
change as the model's. Three other things change answers or rates as much as a new release
can, and all are easy to change by accident between a run made months ago and one made today:

- **the question**: a probe set edited under the same ids (a reworded prompt, a fixed
  translation). A pair whose prompt text differs is two questions, not one answered twice, so
  :func:`same_question` leaves it out of the pairing and the result says how many and which;
- **the generation settings**: the token limit (a cut answer is labelled as a loop or a
  deflection where a longer one is complete), sampling, the system prompt, a chat-template
  override, the reasoning split, the backend and the dtype (greedy answers of the same weights
  differ between float32 and bf16). :func:`setting_differences` lists each one that differs in
  a warning that every output carries (text, JSON, Markdown, HTML);
- **the prompts answered**: a run that was interrupted (or is still being written) covers the
  prompts answered so far, in the runner's order, not the probe set: :func:`incomplete_warning`
  says so for every such run.

What is compared comes from each run's manifest (``generation``, ``model.entry`` as run, and
the resolved ``backend``); a field one run does not record (an imported run has no generation
settings) is not compared. The device and the library versions are in the manifest too but
are not warned about: nearly every comparison of a new release with an old run crosses them.
Manifest values are untrusted and shown escaped and cut short.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Protocol

from biasprobe.manifest import Manifest
from biasprobe.textutil import preview

# The model entry's fields (config.ModelEntry, as run) that change answers and are not the
# model itself; `dtype` is compared as resolved by the backend (see _settings).
ENTRY_FIELDS = ("system_prompt", "chat_template", "reasoning", "quantization")
GENERATION_FIELDS = ("max_new_tokens", "temperature", "top_p", "samples")
MAX_SHOWN = 60  # characters of one value in a warning
MAX_IDS = 5  # prompt ids named in a warning


class HasPrompt(Protocol):
    @property
    def probe_id(self) -> str: ...

    @property
    def prompt(self) -> str: ...


def _value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return preview(text, MAX_SHOWN)


def _settings(manifest: Manifest) -> dict[str, object]:
    """The answer-changing settings a run recorded, by name (absent ones left out)."""
    out: dict[str, object] = {}
    generation = manifest.generation or {}
    for name in GENERATION_FIELDS:
        if name in generation:
            out[name] = generation[name]
    temperature = generation.get("temperature")
    if isinstance(temperature, (int, float)) and temperature > 0 and "seed" in generation:
        out["seed"] = generation["seed"]  # a greedy run's seed changes nothing
    entry = manifest.model.entry or {}
    for name in ENTRY_FIELDS:
        if name in entry:
            out[name] = entry[name]
    if manifest.backend is not None:
        if manifest.backend.backend:
            out["backend"] = manifest.backend.backend
        if manifest.backend.dtype:
            out["dtype"] = manifest.backend.dtype
    return out


def setting_differences(a: Manifest, b: Manifest) -> list[tuple[str, str, str]]:
    """(setting, A's value, B's value) for every recorded setting that differs, in a fixed
    order; a seed only where both runs sampled. A setting only one run records is skipped."""
    sa, sb = _settings(a), _settings(b)
    names = [n for n in (*GENERATION_FIELDS, "seed", *ENTRY_FIELDS, "backend", "dtype")
             if n in sa and n in sb and sa[n] != sb[n]]
    return [(n, _value(sa[n]), _value(sb[n])) for n in names]


def settings_warning(a_id: str, a: Manifest, b_id: str, b: Manifest) -> list[str]:
    """One warning line naming each setting other than the model that differs, or none."""
    diffs = setting_differences(a, b)
    if not diffs:
        return []
    listed = "; ".join(f"{name} {va} → {vb}" for name, va, vb in diffs)
    return [f"{preview(a_id, 80)} → {preview(b_id, 80)}: not made with the same settings, so a "
            f"change is not only the model's: {listed}"]


def question(item: HasPrompt) -> str:
    """What an answer was asked, as compared between runs: its prompt text, outer whitespace
    aside."""
    return item.prompt.strip()


def same_question(a: HasPrompt, b: HasPrompt) -> bool:
    """Whether a pair asks one question: the same :func:`question`."""
    return question(a) == question(b)


def other_questions_warning(a_id: str, b_id: str, ids: Iterable[str]) -> list[str]:
    """One warning line for pairs left out because their prompt text differs, or none."""
    distinct = sorted(set(ids))
    if not distinct:
        return []
    shown = ", ".join(preview(i, 60) for i in distinct[:MAX_IDS])
    more = f" and {len(distinct) - MAX_IDS} more" if len(distinct) > MAX_IDS else ""
    return [f"{preview(a_id, 80)} → {preview(b_id, 80)}: {len(distinct)} prompt(s) have the "
            f"same id but another text (the probe set changed?) and are left out of the "
            f"pairing: {shown}{more}"]


def incomplete_warning(run_id: str, manifest: Manifest, answers: int) -> list[str]:
    """One warning line for a run that was never completed, or none."""
    if manifest.complete:
        return []
    planned = manifest.probes.count
    of = f" of {planned} prompts" if planned else ""
    return [f"{preview(run_id, 80)}: not complete ({answers} answers{of}; interrupted or still "
            f"running): its rates cover only the prompts answered so far; run it again with the "
            f"same options to finish it"]
