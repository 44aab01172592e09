from __future__ import annotations

from pathlib import Path

import pytest

from biasprobe.config import DEFAULT_MODEL, Registry, with_overrides
from biasprobe.errors import ConfigError, UnknownModelError


def test_builtin_registry_has_default_and_audited_models() -> None:
    reg = Registry.load()
    names = {m.name for m in reg}
    assert DEFAULT_MODEL in names
    for expected in ["deepseek-r1-distill-qwen-7b", "deepseek-r1-distill-llama-70b",
                     "r1-1776-distill-llama-70b", "qwen2.5-7b-instruct", "qwen3-8b",
                     "llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3"]:
        assert expected in names
    default = reg.get(DEFAULT_MODEL)
    assert default.trust_remote_code is False
    assert default.generation.greedy


def test_user_file_overrides_and_adds(tmp_path: Path) -> None:
    user = tmp_path / "m.yaml"
    user.write_text(
        f"models:\n  - name: {DEFAULT_MODEL}\n    source: {{path: /x}}\n"
        "  - name: mine\n    source: {hub: org/repo, revision: abc123}\n"
    )
    reg = Registry.load(user)
    assert str(reg.get(DEFAULT_MODEL).source.path) == "/x"  # type: ignore[union-attr]
    assert reg.get("mine").source.revision == "abc123"  # type: ignore[union-attr]
    assert reg.origin("mine") == user


def test_env_var_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "m.yaml"
    user.write_text("models:\n  - name: envmodel\n    source: {path: /y}\n")
    monkeypatch.setenv("BIASPROBE_MODELS", str(user))
    assert Registry.load().get("envmodel").name == "envmodel"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models: [\n", "malformed YAML"),
        ("models:\n  - name: a\n    source: {path: /x}\n    colour: red\n", "unknown field"),
        ("models:\n  - name: a\n    source: {path: /x}\n    batch_size: lots\n", "batch_size"),
        ("models:\n  - name: a\n", "source"),
        ("- just a list\n", "expected a mapping"),
        ("models:\n  - {name: a, source: {path: /x}}\n  - {name: a, source: {path: /y}}\n",
         "duplicate model names"),
        ("models:\n  - name: a\n    source: {path: /x}\n    generation: {samples: 3}\n",
         "temperature"),
        ("models:\n  - name: a\n    source: {path: /x}\n    backend: fake\n", "fake"),
    ],
)
def test_bad_registry_files(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "bad.yaml"
    user.write_text(text)
    with pytest.raises(ConfigError) as err:
        Registry.load(user)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        Registry.load(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"models:\n  - name: caf\xe9\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        Registry.load(bad)


def test_unknown_model_lists_known() -> None:
    with pytest.raises(UnknownModelError, match=DEFAULT_MODEL):
        Registry.load().get("no-such-model")


def test_overrides_are_validated() -> None:
    entry = Registry.load().get(DEFAULT_MODEL)
    new = with_overrides(entry, generation={"max_new_tokens": 5, "seed": None}, batch_size=2)
    assert new.generation.max_new_tokens == 5 and new.batch_size == 2
    assert new.generation.seed == entry.generation.seed
    with pytest.raises(ConfigError, match="samples"):
        with_overrides(entry, generation={"samples": 4})
