"""Property test: whatever YAML-ish bytes a user hands the loader, it either loads or raises
ProbeError (one clear line), never another exception."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biasprobe.errors import ProbeError
from biasprobe.probes import load_reference_file, load_set_file, validate_sets

FIELDS = [
    "id", "text", "language", "topic", "kind", "jurisdiction", "pair_id", "template_id",
    "source", "licence", "name", "probes", "templates", "governments", "references", "stance",
    "en", "zh-Hans", "{x}",
]  # fmt: skip
VALUES = [
    "en",
    "zh-Hans",
    "zh-hant",
    "xx",
    "CN",
    "censorship",
    "mirror",
    "a-1",
    "{leader}",
    "天安门",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.sampled_from(VALUES),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)


def _documents() -> st.SearchStrategy[bytes]:
    as_yaml = trees.map(lambda t: yaml.safe_dump(t, allow_unicode=True).encode("utf-8", "surrogatepass"))
    probe_like = st.fixed_dictionaries(
        {"probes": st.lists(st.dictionaries(st.sampled_from(FIELDS), scalars), max_size=3)}
    ).map(lambda t: yaml.safe_dump(t, allow_unicode=True).encode("utf-8", "surrogatepass"))
    raw_text = st.text(
        alphabet=st.sampled_from(list("probes:-{}[]'\"\n &*!|>%@`#,?年\t")) | st.characters(),
        max_size=80,
    ).map(lambda s: s.encode("utf-8", "surrogatepass"))
    return st.one_of(as_yaml, probe_like, raw_text, st.binary(max_size=60))


def _load(data: bytes) -> Any:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.yaml"
        path.write_bytes(data)
        try:
            s = load_set_file(path)
            validate_sets([s])
        except ProbeError as exc:
            assert exc.message and "\n" not in exc.message.strip()
        with contextlib.suppress(ProbeError):
            load_reference_file(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_loader_raises_only_probe_error(data: bytes) -> None:
    _load(data)


def test_known_awkward_inputs() -> None:
    for doc in [
        b"a: 2020-02-30\n",  # impossible date: ValueError inside the YAML constructor
        b"[" * 2000,  # deep nesting
        b"probes:\n  - {id: x, text: y, language: en, topic: t, kind: neutral, 1: 2}\n",
        b"probes: [1, 2]\n",
        b"templates: [{id: t, topic: t, text: {en: '{a}'}}]\ngovernments: {CN: {en: {}}}\n",
        b"governments: {CN: {en: {a: 1}}}\ntemplates: [{id: t, topic: t, text: {en: '{a}'}}]\n",
        b"references: [{topic: x}]\n",
        b"\xef\xbb\xbfprobes: []\n",  # BOM
        b"!!python/object:os.system {}\n",
        b"? '\n\n  '\n: null\n",  # a key with newlines: the message must stay on one line
        b"references: [{? 'a\nb' : 1}]\n",
    ]:
        _load(doc)
