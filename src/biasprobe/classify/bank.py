"""Exemplar banks (YAML data shipped in the package) and their cached embeddings.

The default bank is the shipped ``exemplars.yaml`` plus the exemplar file each label registry
entry may name (:mod:`biasprobe.labels`): a label added to the registry brings its own
exemplars, and the bank must hold exemplars for every predicted label."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from biasprobe.classify.embedders import Array, Embedder
from biasprobe.errors import BiasprobeError
from biasprobe.labels import Label, registry
from biasprobe.paths import cache_dir, package_file


def predicted_labels() -> tuple[Label, ...]:
    """The labels the classifier predicts from exemplars, in score-column order (the registry
    in force)."""
    return registry().predicted


def __getattr__(name: str) -> tuple[Label, ...]:
    """``LABELS``: :func:`predicted_labels`, looked up at each access (older imports)."""
    if name == "LABELS":
        return predicted_labels()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ExemplarError(BiasprobeError):
    """An exemplar bank file is missing or malformed."""


@dataclass(frozen=True)
class Bank:
    texts: list[str]
    labels: list[Label]
    languages: list[str]

    @property
    def fingerprint(self) -> str:
        blob = json.dumps([self.texts, [lab.value for lab in self.labels]], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_bank_path() -> Path:
    return package_file("classify", "data", "exemplars.yaml")


def load_bank(path: Path | None = None) -> Bank:
    """The bank at ``path``, or the shipped bank plus the registry's extra exemplar files."""
    paths = [path] if path else [default_bank_path(), *registry().extra_exemplars]
    texts: list[str] = []
    labels: list[Label] = []
    langs: list[str] = []
    for one in paths:
        for label, lang, text in _read_bank_file(one):
            texts.append(text)
            labels.append(label)
            langs.append(lang)
    missing = [lab.value for lab in predicted_labels() if lab not in labels]
    if missing:
        raise ExemplarError(f"{paths[0]}: no exemplars for {', '.join(missing)}")
    return Bank(texts, labels, langs)


def _read_bank_file(path: Path) -> list[tuple[Label, str, str]]:
    """(label, language, text) of every exemplar in one bank file (untrusted: all checked)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise ExemplarError(f"{path}: exemplar bank not found") from None
    except yaml.YAMLError as exc:
        raise ExemplarError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("exemplars"), dict):
        raise ExemplarError(f"{path}: expected a mapping with key 'exemplars'")
    out: list[tuple[Label, str, str]] = []
    for label_name, by_lang in data["exemplars"].items():
        try:
            label = Label(label_name)
        except ValueError:
            raise ExemplarError(f"{path}: unknown label {label_name!r}") from None
        if not registry().info(label).predicted or not isinstance(by_lang, dict):
            raise ExemplarError(f"{path}: label {label_name!r} must map languages to lists")
        for lang, items in by_lang.items():
            if not isinstance(items, list) or not all(isinstance(t, str) and t for t in items):
                raise ExemplarError(f"{path}: {label_name}.{lang} must be a list of strings")
            out.extend((label, str(lang), text) for text in items)
    return out


def bank_embeddings(bank: Bank, embedder: Embedder) -> Array:
    """Embeddings of the bank, cached on disk per (bank, embedder weights)."""
    if embedder.name == "fake" or embedder.sha256 == "unknown":
        return embedder.encode(bank.texts)
    key = f"{embedder.name}-{embedder.sha256[:12]}-{bank.fingerprint}.npy"
    path = cache_dir("exemplar-embeddings") / key
    if path.exists():
        try:
            arr = np.load(path)
            if arr.shape[0] == len(bank.texts):
                loaded: Array = arr.astype(np.float32)
                return loaded
        except (OSError, ValueError):
            pass
    arr = embedder.encode(bank.texts)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(path)
    return arr
