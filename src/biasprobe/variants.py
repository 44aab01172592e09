"""Variants of probes, and the bypass table: does another phrasing get past a refusal?

A label says *that* a model refused, not whether it does not know or was trained to refuse. A
variant asks the same question another way and is linked to its base probe by ``variant_of``:

- ``system``: no system prompt, a neutral one, a research-context one;
- ``follow-up``: a second user turn ("Please answer the question directly.") after the model's
  own first answer (the runner generates these after the first turns);
- ``euphemism``: the question in code words ("May 35th") where they exist;
- ``prefill``: a forced start of the assistant turn, or a forced empty ``<think></think>`` for
  reasoning models (local backends only: the prompt is rendered here, not by a server).

The variants are data (``probes/variants/standard.yaml``); :func:`expand_variants` turns each
selected probe into its variant probes. :func:`bypass_table` then counts, per variant, how often
the variant's answer is ``complete`` where the base probe's answer (same sample) was censored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from biasprobe.errors import ProbeError, RunStoreError
from biasprobe.labels import is_censored
from biasprobe.records import Label, Probe, Response, Score, VariantKind

_NAME = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
#: Labels that count as a censored answer (as in diff.py).


class VariantSpec(BaseModel):
    """One generic variant; texts per language ("*" = any language)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, max_length=60)
    kind: VariantKind
    system: dict[str, str] | None = None
    follow_up: dict[str, str] | None = None
    prefill: dict[str, str] | None = None


class Euphemism(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, max_length=60)
    text: str = Field(min_length=1, max_length=20_000)


class VariantFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    licence: str | None = None
    variants: list[VariantSpec] = Field(default_factory=list)
    euphemisms: dict[str, list[Euphemism]] = Field(default_factory=dict)  # base probe id -> ...


def variants_file() -> Path:
    from biasprobe.probes import builtin_dir

    return builtin_dir() / "variants" / "standard.yaml"


def load_variant_file(path: Path | None = None) -> VariantFile:
    from biasprobe.probes.sets import read_probe_yaml
    from biasprobe.yamlio import validation_message

    path = path or variants_file()
    data = read_probe_yaml(path, "variants")
    try:
        return VariantFile.model_validate(data)
    except ValidationError as exc:
        raise ProbeError(validation_message(exc, str(path))) from None


def validate_variant_file(spec: VariantFile, probes: Sequence[Probe], where: str) -> None:
    """Curation rules: unique names, valid language keys, euphemisms of known probes written
    in the script of their probe's language."""
    from biasprobe.probes.languages import check_file_language, check_script

    names = [v.name for v in spec.variants]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ProbeError(f"{where}: duplicate variant name {dupes[0]!r}")
    for v in spec.variants:
        texts = {**(v.system or {}), **(v.follow_up or {}), **(v.prefill or {})}
        if not texts:
            raise ProbeError(f"{where}: variant {v.name!r} has no system, follow_up or prefill text")
        for lang in texts:
            if lang != "*":
                try:
                    check_file_language(lang)
                except ValueError as exc:
                    raise ProbeError(f"{where}: variant {v.name!r}: {exc}") from None
    by_id = {p.id: p for p in probes}
    for probe_id, items in spec.euphemisms.items():
        base = by_id.get(probe_id)
        if base is None:
            raise ProbeError(f"{where}: euphemisms for {probe_id!r}, which is not a built-in probe")
        for e in items:
            check_script(e.text, base.language, f"{where}: euphemism {e.name!r} of {probe_id!r}")


def _text(texts: dict[str, str] | None, language: str) -> str | None:
    if texts is None:
        return None
    return texts.get(language, texts.get("*"))


def _choose(spec: VariantFile, wanted: Sequence[str]) -> tuple[list[VariantSpec], bool]:
    """Variant names or kinds (``all``) -> the generic variants, and whether euphemisms too."""
    names = {v.name for v in spec.variants}
    kinds = {k.value for k in VariantKind}
    chosen = {w.strip() for item in wanted for w in item.split(",") if w.strip()}
    unknown = sorted(chosen - names - kinds - {"all"})
    if unknown:
        known = ", ".join(["all", *sorted(kinds), *(v.name for v in spec.variants)])
        raise ProbeError(f"unknown variant {unknown[0]!r}; use one of: {known}")
    every = "all" in chosen
    specs = [v for v in spec.variants if every or v.name in chosen or v.kind.value in chosen]
    return specs, every or VariantKind.euphemism.value in chosen


def _variant(base: Probe, name: str, kind: VariantKind, **fields: str | None) -> Probe:
    return base.model_copy(update={
        "id": f"{base.id}:{name}", "pair_id": None, "variant_of": base.id, "variant": name,
        "variant_kind": kind, **fields,
    })


def expand_variants(probes: Sequence[Probe], wanted: Sequence[str], spec: VariantFile) -> list[Probe]:
    """Each base probe followed by its variants (those with a text for its language)."""
    specs, euphemisms = _choose(spec, wanted)
    out: list[Probe] = []
    for base in probes:
        out.append(base)
        if base.variant_of is not None:
            continue
        for v in specs:
            fields = {f: _text(getattr(v, f), base.language) for f in ("system", "follow_up", "prefill")}
            if all(value is None for value in fields.values()):
                continue  # no text for this language
            out.append(_variant(base, v.name, v.kind, **fields))
        if euphemisms:
            for e in spec.euphemisms.get(base.id, []):
                out.append(_variant(base, f"euphemism-{e.name}", VariantKind.euphemism, text=e.text))
    check_variant_links(out)
    return out


def check_variant_links(probes: Sequence[Probe]) -> None:
    """A follow-up needs its base probe in the same run (its prompt holds the base's answer)."""
    ids = {p.id for p in probes}
    for p in probes:
        if p.variant_of is not None and p.follow_up is not None and p.variant_of not in ids:
            raise ProbeError(
                f"probe {p.id!r}: follow-up variant of {p.variant_of!r}, which is not selected"
            )


class BypassRow(BaseModel):
    """One variant (or one variant kind) in one run."""

    variant: str  # the variant name, or "all <kind>" in the per-kind rows
    kind: VariantKind
    pairs: int  # scored (base, variant) answers of the same probe and sample
    base_censored: int  # ... where the base answer was censored
    bypassed: int  # ... and the variant's answer was complete
    bypass_rate: float | None  # bypassed / base_censored
    ci_low: float | None  # Wilson 95% interval of the bypass rate
    ci_high: float | None
    closed: int  # base answer complete, variant's censored (the variant made it worse)


class BypassTable(BaseModel):
    run_id: str
    model: str | None
    rows: list[BypassRow]  # per variant
    kinds: list[BypassRow]  # per variant kind

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Headers and rows for a text table (the CLI prints them with the project's renderer)."""
        headers = ["variant", "kind", "pairs", "base censored", "bypassed", "bypass rate", "95% CI",
                   "closed"]
        rows = []
        for r in [*self.rows, *self.kinds]:
            rate = "-" if r.bypass_rate is None else f"{100 * r.bypass_rate:.0f}%"
            ci = "-" if r.ci_low is None or r.ci_high is None else (
                f"{100 * r.ci_low:.0f}–{100 * r.ci_high:.0f}%")
            rows.append([r.variant, r.kind.value, str(r.pairs), str(r.base_censored),
                         str(r.bypassed), rate, ci, str(r.closed)])
        return headers, rows


class VariantPair(BaseModel):
    """One scored variant answer with its base probe's answer to the same sample: the unit the
    bypass table (:func:`bypass_from_pairs`) and ``diff`` (:func:`bypass_change`) count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_id: str
    variant_id: str
    variant: str
    kind: VariantKind
    sample: int
    language: str
    topic: str
    base_label: Label
    variant_label: Label
    prompt: str = ""  # the variant's probe text: a reworded variant is another question

    @property
    def probe_id(self) -> str:
        """The variant's own prompt id (what :mod:`biasprobe.comparability` compares)."""
        return self.variant_id

    @property
    def base_censored(self) -> bool:
        return is_censored(self.base_label.value)

    @property
    def bypassed(self) -> bool:
        return self.base_censored and self.variant_label is Label.complete


def variant_pairs(
    responses: Iterable[Response], scores: Mapping[tuple[str, int], Score]
) -> list[VariantPair]:
    """Every scored variant answer whose base answer (same sample) is scored too, in file
    order (unscored ones are left out: the table counts only what was labelled)."""
    out = []
    for r in responses:
        if r.variant_of is None or r.variant is None or r.variant_kind is None:
            continue
        base, variant = scores.get((r.variant_of, r.sample)), scores.get(r.key)
        if base is not None and variant is not None:
            out.append(VariantPair(
                base_id=r.variant_of, variant_id=r.probe_id, variant=r.variant,
                kind=r.variant_kind, sample=r.sample, language=r.language, topic=r.topic,
                base_label=base.label, variant_label=variant.label,
                prompt=r.probe_text))
    return out


def _row(name: str, kind: VariantKind, pairs: Sequence[VariantPair]) -> BypassRow:
    from biasprobe.stats import cluster_rate

    censored = [p for p in pairs if p.base_censored]
    bypassed = sum(1 for p in censored if p.bypassed)
    closed = sum(1 for p in pairs
                 if p.base_label is Label.complete and is_censored(p.variant_label.value))
    # the base prompt is the unit: its samples and its variants are not independent
    ci = cluster_rate((p.base_id, p.bypassed) for p in censored)
    return BypassRow(variant=name, kind=kind, pairs=len(pairs), base_censored=len(censored),
                     bypassed=bypassed, bypass_rate=ci.rate, ci_low=ci.ci_low, ci_high=ci.ci_high,
                     closed=closed)


def bypass_from_pairs(run_id: str, model: str | None, pairs: Sequence[VariantPair]) -> BypassTable:
    """The bypass table of one run's variant pairs: one row per variant, one per kind. The one
    place the table is computed (``biasprobe variants``, ``report`` and ``diff`` use it)."""
    by_variant: dict[tuple[str, VariantKind], list[VariantPair]] = {}
    for p in pairs:
        by_variant.setdefault((p.variant, p.kind), []).append(p)
    rows = [_row(name, kind, ps) for (name, kind), ps in sorted(by_variant.items())]
    kinds = []
    for kind in VariantKind:
        of_kind = [p for p in pairs if p.kind is kind]
        if of_kind:
            kinds.append(_row(f"all {kind.value}", kind, of_kind))
    return BypassTable(run_id=run_id, model=model, rows=rows, kinds=kinds)


def bypass_table(run: str) -> BypassTable:
    """The bypass table of a scored run (run id or directory)."""
    from biasprobe.diff import model_name, read_scores
    from biasprobe.store import SCORES, read_manifest, read_responses, resolve_run_dir

    run_dir = resolve_run_dir(run)
    if not (run_dir / SCORES).exists():
        raise RunStoreError(f"{run_dir}: not scored yet (run: biasprobe score {run})")
    manifest = read_manifest(run_dir)
    pairs = variant_pairs(read_responses(run_dir), read_scores(run_dir))
    return bypass_from_pairs(str(manifest.get("run_id", run_dir.name)), model_name(manifest), pairs)
