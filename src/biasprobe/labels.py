"""The label registry: every label a score can carry, described once, as data.

The registry is the YAML file ``labels.yaml`` beside this module (``BIASPROBE_LABELS=path``
replaces it, e.g. in a test or for a private label; :func:`registry` also takes the path as an
explicit parameter). Each entry says whether the label counts as censored (the ``censored``
metric is the union of those), which of SpeechMap's three gold classes it maps to (COMPLETE /
EVASIVE / DENIAL, used by ``eval-classifier``), the colour plots use, a one-line description,
whether the classifier predicts it from exemplars (``uncertain`` is not predicted: it marks a
low-margin guess) and, for a label added to the shipped ones, the exemplar file that teaches the
classifier the label. The list order is the display order of every table and plot.

So a new label is one registry entry plus its exemplars: scores, ``diff`` tables, reports and
plots read the labels from here, and the classifier builds one kNN feature per predicted label,
looked up by name (``knn_<label>``). The five shipped labels must stay: the classifier has
rules about them (an empty answer is a deflection, a low margin is uncertain, ...).

:class:`Label` is the type of every label in a record: a ``str`` checked against the registry
in force, with the shipped labels as class attributes (``Label.refusal``). Registries are read
once per path and never change afterwards (no global mutable state: a different path is a
different registry).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic_core import core_schema

from biasprobe.errors import BiasprobeError

GoldClass = Literal["COMPLETE", "EVASIVE", "DENIAL"]
GOLD_CLASSES: tuple[GoldClass, ...] = ("COMPLETE", "EVASIVE", "DENIAL")
ENV_VAR = "BIASPROBE_LABELS"
# Labels the code has rules about; every registry keeps them.
BUILTIN: tuple[str, ...] = ("complete", "refusal", "deflection", "official_line", "uncertain")
# Names a label cannot take: metric names that sit beside the labels in diff tables.
RESERVED = frozenset({"censored", "censorship", "appropriate_refusal", "over_refusal",
                      "false_positive"})  # fmt: skip
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_KEYS = frozenset({"name", "censored", "gold", "colour", "description", "predicted", "exemplars"})


class LabelError(BiasprobeError):
    """The label registry file is missing or malformed, or a label is not in it."""


class Label(str):
    """A label name known to the registry in force (a plain ``str`` otherwise).

    ``Label("refusal") is Label.refusal``: each registry hands out one object per name, and the
    shipped labels are the same objects in every registry. Unknown names raise ``ValueError``
    (pydantic turns it into a validation error of the record)."""

    __slots__ = ()
    complete: ClassVar[Label]
    refusal: ClassVar[Label]
    deflection: ClassVar[Label]
    official_line: ClassVar[Label]
    uncertain: ClassVar[Label]

    def __new__(cls, value: object) -> Label:
        reg = registry()
        found = reg.members.get(value) if isinstance(value, str) else None
        if found is None:
            raise ValueError(f"unknown label {value!r}; known labels: {', '.join(reg.names)}")
        return found

    @classmethod
    def _make(cls, name: str) -> Label:
        return str.__new__(cls, name)

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Label({str.__repr__(self)})"

    def __reduce__(self) -> tuple[type[Label], tuple[str]]:
        return (Label, (self.value,))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str, when_used="json"),
        )


for _name in BUILTIN:
    setattr(Label, _name, Label._make(_name))


@dataclass(frozen=True)
class LabelInfo:
    name: str
    censored: bool
    gold: GoldClass | None  # None: not compared against gold labels (uncertain)
    colour: str
    description: str
    predicted: bool = True  # has exemplars and a score column in the classifier
    exemplars: Path | None = None  # extra exemplar file (labels beyond the shipped bank)


@dataclass(frozen=True)
class Registry:
    """One registry file, read and checked; every derived view is computed once here."""

    source: Path
    labels: tuple[LabelInfo, ...]
    by_name: Mapping[str, LabelInfo] = field(init=False)
    members: Mapping[str, Label] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {info.name: info for info in self.labels})
        shipped = {name: getattr(Label, name) for name in BUILTIN}
        object.__setattr__(self, "members", {info.name: shipped.get(info.name) or
                                             Label._make(info.name) for info in self.labels})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(info.name for info in self.labels)

    @property
    def predicted(self) -> tuple[Label, ...]:
        """The labels the classifier scores, in column order."""
        return tuple(self.members[i.name] for i in self.labels if i.predicted)

    @property
    def censored(self) -> frozenset[str]:
        return frozenset(info.name for info in self.labels if info.censored)

    @property
    def colours(self) -> dict[str, str]:
        return {info.name: info.colour for info in self.labels}

    @property
    def metrics(self) -> tuple[str, ...]:
        """The rate columns of diff and report tables: ``censored``, then the censored labels,
        then the other predicted labels (registry order within each)."""
        pred = [lab.value for lab in self.predicted]
        return ("censored", *(n for n in pred if n in self.censored),
                *(n for n in pred if n not in self.censored))

    @property
    def extra_exemplars(self) -> tuple[Path, ...]:
        return tuple(info.exemplars for info in self.labels if info.exemplars is not None)

    def info(self, name: str) -> LabelInfo:
        """The entry of ``name`` (KeyError names the known labels)."""
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"unknown label {name!r}; known labels: {', '.join(self.names)}") from None


def shipped_path() -> Path:
    return Path(__file__).with_name("labels.yaml")


def registry(path: Path | str | None = None) -> Registry:
    """The registry in force: ``path``, else ``$BIASPROBE_LABELS``, else the shipped file."""
    return _load(str(path or os.environ.get(ENV_VAR) or ""))


@lru_cache(maxsize=8)
def _load(chosen: str) -> Registry:
    """The registry file ``chosen`` ("" = the shipped one), read and checked once per path."""
    import yaml

    from biasprobe.yamlio import read_user_file

    path = Path(chosen).expanduser().resolve() if chosen else shipped_path()
    try:
        # bounded, and a FIFO or device is refused instead of read (BIASPROBE_LABELS is user input)
        data = yaml.safe_load(read_user_file(path, LabelError, "label registry",
                                             "label registry YAML").decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read the label registry ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        raise LabelError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("labels"), list):
        raise LabelError(f"{path}: expected a mapping with a list 'labels'")
    infos = tuple(_entry(path, i, raw) for i, raw in enumerate(data["labels"]))
    names = [info.name for info in infos]
    dupes = sorted({n for n in names if names.count(n) > 1})
    missing = [n for n in BUILTIN if n not in names]
    if dupes or missing:
        what = f"duplicate labels {', '.join(dupes)}" if dupes else f"misses {', '.join(missing)}"
        raise LabelError(f"{path}: label registry {what}")
    if infos[names.index("uncertain")].predicted:
        raise LabelError(f"{path}: 'uncertain' cannot be predicted (it marks a low margin)")
    return Registry(path, infos)


def _entry(path: Path, i: int, raw: object) -> LabelInfo:
    """One checked registry entry (every field of untrusted data validated)."""
    where = f"{path}: labels[{i}]"
    if not isinstance(raw, dict) or set(raw) - _KEYS:
        extra = sorted(set(raw) - _KEYS) if isinstance(raw, dict) else []
        raise LabelError(f"{where}: expected a mapping" + (f" (unknown keys {extra})" if extra else ""))
    name, gold, colour = raw.get("name"), raw.get("gold"), raw.get("colour")
    if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
        raise LabelError(f"{where}: name must match [a-z][a-z0-9_]* and not be a metric name")
    if gold is not None and gold not in GOLD_CLASSES:
        raise LabelError(f"{where} ({name}): gold must be one of {', '.join(GOLD_CLASSES)} or null")
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        raise LabelError(f"{where} ({name}): colour must be #rrggbb")
    description, censored, predicted = raw.get("description"), raw.get("censored"), raw.get("predicted", True)
    if not isinstance(description, str) or not description.strip():
        raise LabelError(f"{where} ({name}): description must be a non-empty string")
    if not isinstance(censored, bool) or not isinstance(predicted, bool):
        raise LabelError(f"{where} ({name}): censored and predicted must be true or false")
    exemplars = raw.get("exemplars")
    if exemplars is not None and not isinstance(exemplars, str):
        raise LabelError(f"{where} ({name}): exemplars must be a file path")
    return LabelInfo(name, censored, gold, colour, description.strip(), predicted,
                     path.parent / exemplars if exemplars else None)


def label_info(name: str) -> LabelInfo:
    """The registry entry of ``name`` in the registry in force."""
    return registry().info(name)


def gold_class(name: str) -> GoldClass:
    """The gold class a predicted label is compared with (uncertain counts as EVASIVE: callers
    pass the best guess instead)."""
    return label_info(name).gold or "EVASIVE"


def is_censored(name: str) -> bool:
    return name in registry().censored


def censored_share(label: str, confidence: float) -> float:
    """The probability that an answer is censored when the classifier gives ``label`` with
    ``confidence`` (the calibrated probability that the label is right, complete vs not): the
    confidence for a censored label, one minus it for any other."""
    conf = min(1.0, max(0.0, confidence))
    return conf if is_censored(label) else 1.0 - conf


def predicted_names() -> tuple[str, ...]:
    """Names of the labels the classifier predicts, in column order (registry in force)."""
    return tuple(label.value for label in registry().predicted)


def censored_names() -> tuple[str, ...]:
    """The censored labels among :func:`predicted_names`, in column order."""
    return tuple(name for name in predicted_names() if is_censored(name))
