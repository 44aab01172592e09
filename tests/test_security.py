"""Untrusted weights and untrusted output (issue 8).

Weights: safetensors only unless allowed, ``trust_remote_code`` only when the entry says so,
pinned sha256 checked (also against a doctored hash cache), hub revision recorded as a commit.
Output: model text is escaped wherever ``show`` prints it; run ids cannot leave ``outputs/``;
a symlinked run directory is refused for writing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from biasprobe.config import HubSource, ModelEntry
from biasprobe.errors import ModelSourceError, RunStoreError
from biasprobe.sources import _hub_snapshot, cached_sha256, resolve
from biasprobe.store import RunStore, check_run_id
from biasprobe.textutil import one_line, printable, safe_json_dumps
from cli_helpers import cli

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def one_error(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert "Traceback" not in err


def _model_dir(tmp_path: Path, files: dict[str, bytes]) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text("{}")
    for name, data in files.items():
        (d / name).write_bytes(data)
    return d


def _models_file(tmp_path: Path, entry: str) -> str:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n" + entry)
    return str(path)


# --- untrusted weights --------------------------------------------------------------------------


def test_pickle_only_model_is_refused_by_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path
) -> None:
    d = _model_dir(tmp_path, {"pytorch_model.bin": b"\x80\x04not really a pickle"})
    models = _models_file(tmp_path, f"  - name: pickled\n    source: {{path: {d}}}\n")
    code, _, err = cli(capsys, "run", "-m", "pickled", "--models", models, "--no-score",
                       "--no-progress", "--limit", "1")
    one_error(code, err, "only pickle weights (pytorch_model.bin)")
    assert "--allow-pickle" in err
    assert not outputs.exists() or not any(outputs.iterdir())


def test_pickle_allowed_when_asked(tmp_path: Path) -> None:
    d = _model_dir(tmp_path, {"pytorch_model.bin": b"trusted"})
    entry = ModelEntry(name="pickled", source={"path": str(d)}, allow_pickle=True)  # type: ignore[arg-type]
    resolved = resolve(entry)
    assert "pytorch_model.bin" in resolved.weights_sha256
    refused = ModelEntry(name="pickled", source={"path": str(d)})  # type: ignore[arg-type]
    with pytest.raises(ModelSourceError, match="pickle"):
        resolve(refused)


def test_safetensors_beside_pickle_never_loads_the_pickle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record_from_pretrained(monkeypatch)
    d = _model_dir(tmp_path, {"model.safetensors": b"dummy", "pytorch_model.bin": b"evil"})
    entry = ModelEntry(name="both", source={"path": str(d)})  # type: ignore[arg-type]
    _load_transformers(entry, resolve(entry))
    assert calls["model"]["use_safetensors"] is True


@pytest.mark.parametrize("allow_pickle", [False, True])
def test_allow_pickle_still_prefers_safetensors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_pickle: bool
) -> None:
    """``--allow-pickle`` permits a pickle only when it is the sole format (issue 15, class 3)."""
    calls = _record_from_pretrained(monkeypatch)
    d = _model_dir(tmp_path, {"model.safetensors": b"dummy", "pytorch_model.bin": b"evil"})
    entry = ModelEntry(name="both", source={"path": str(d)}, allow_pickle=allow_pickle)  # type: ignore[arg-type]
    _load_transformers(entry, resolve(entry))
    assert calls["model"]["use_safetensors"] is True
    (tmp_path / "only").mkdir()
    only = _model_dir(tmp_path / "only", {"pytorch_model.bin": b"trusted"})
    entry = ModelEntry(name="only", source={"path": str(only)}, allow_pickle=True)  # type: ignore[arg-type]
    _load_transformers(entry, resolve(entry))
    assert calls["model"]["use_safetensors"] is False


class _Stop(Exception):
    pass


def _record_from_pretrained(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    import transformers

    calls: dict[str, dict[str, Any]] = {}

    class FakeTokenizer:
        pad_token_id = 0
        eos_token_id = 0
        chat_template = "{{ messages }}"
        padding_side = "right"

    def tokenizer(path: str, **kwargs: Any) -> FakeTokenizer:
        calls["tokenizer"] = kwargs
        return FakeTokenizer()

    def model(path: str, **kwargs: Any) -> Any:
        calls["model"] = kwargs
        raise _Stop

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", tokenizer)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", model)
    return calls


def _load_transformers(entry: ModelEntry, resolved: Any) -> None:
    from biasprobe.backends import load_backend

    with pytest.raises(_Stop):
        load_backend(entry, resolved)


@pytest.mark.parametrize("trust", [None, False, True])
def test_trust_remote_code_only_when_the_entry_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trust: bool | None
) -> None:
    calls = _record_from_pretrained(monkeypatch)
    d = _model_dir(tmp_path, {"model.safetensors": b"dummy"})
    fields: dict[str, Any] = {"name": "local", "source": {"path": str(d)}}
    if trust is not None:
        fields["trust_remote_code"] = trust
    entry = ModelEntry.model_validate(fields)
    _load_transformers(entry, resolve(entry))
    expected = trust is True
    assert calls["tokenizer"]["trust_remote_code"] is expected
    assert calls["model"]["trust_remote_code"] is expected
    assert calls["model"]["use_safetensors"] is True


def test_pinned_sha256_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path
) -> None:
    d = _model_dir(tmp_path, {"model.safetensors": b"dummy weights"})
    good = hashlib.sha256(b"dummy weights").hexdigest()
    bad = "0" * 64
    entry = ModelEntry.model_validate(
        {"name": "pinned", "source": {"path": str(d)}, "weights_sha256": {"model.safetensors": good}}
    )
    assert resolve(entry).weights_sha256 == {"model.safetensors": good}
    models = _models_file(
        tmp_path, f"  - name: pinned\n    source: {{path: {d}}}\n"
                  f"    weights_sha256: {{model.safetensors: '{bad}'}}\n")
    code, _, err = cli(capsys, "run", "-m", "pinned", "--models", models, "--no-score",
                       "--no-progress", "--limit", "1")
    one_error(code, err, "sha256 mismatch for model.safetensors")
    assert "refusing to load" in err
    missing = ModelEntry.model_validate(
        {"name": "pinned", "source": {"path": str(d)}, "weights_sha256": {"other.safetensors": good}}
    )
    with pytest.raises(ModelSourceError, match="missing"):
        resolve(missing)


def test_hash_cache_cannot_be_fooled_by_resetting_mtime(tmp_path: Path) -> None:
    """Rewriting a file with the same size and mtime changes ctime: it is hashed again."""
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"AAAA")
    first = cached_sha256(f)
    st = f.stat()
    f.write_bytes(b"BBBB")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_mtime_ns == st.st_mtime_ns and f.stat().st_size == st.st_size
    assert cached_sha256(f) == hashlib.sha256(b"BBBB").hexdigest() != first


def test_hub_revision_is_recorded_as_the_commit_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    snapshot = tmp_path / "hub" / "models--org--m" / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"w")
    seen: dict[str, Any] = {}

    def fake_download(repo_id: str, **kwargs: Any) -> str:
        seen.update(kwargs, repo_id=repo_id)
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    path, revision = _hub_snapshot(HubSource(hub="org/m", revision="main"), allow_pickle=False)
    assert (path, revision) == (snapshot, COMMIT)
    assert seen["revision"] == "main" and "*.bin" not in seen["allow_patterns"]
    entry = ModelEntry.model_validate({"name": "hubm", "source": {"hub": "org/m"}})
    resolved = resolve(entry)
    assert resolved.revision == COMMIT
    assert resolved.origin == {"hub": "org/m", "requested_revision": "main"}
    _hub_snapshot(HubSource(hub="org/m"), allow_pickle=True)
    assert "*.bin" in seen["allow_patterns"]


def test_hub_snapshot_without_commit_hash_or_other_commit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    odd = tmp_path / "somewhere" / "main"
    odd.mkdir(parents=True)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: str(odd))
    with pytest.raises(ModelSourceError, match="not named by a commit hash"):
        _hub_snapshot(HubSource(hub="org/m"), allow_pickle=False)
    snap = tmp_path / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: str(snap))
    with pytest.raises(ModelSourceError, match="asked for commit"):
        _hub_snapshot(HubSource(hub="org/m", revision="f" * 40), allow_pickle=False)


# --- untrusted output -----------------------------------------------------------------------

EVIL = ("<script>alert(1)</script> \x1b[2J\x1b[31mred\x1b]8;;https://evil.example\x07link"
        "\x1b]8;;\x07 \u202eevil\u202c \x9b31m \x07 答")
BAD_CHARS = ("\x1b", "\u202e", "\u202c", "\x9b", "\x07")


def test_show_escapes_model_output_in_table_and_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path
) -> None:
    models = tmp_path / "m.yaml"
    models.write_text("models:\n  - name: evil\n    backend: fake\n    source:\n      fake: "
                      + json.dumps([EVIL, "<think>" + EVIL + "</think>" + EVIL]) + "\n")
    code, _, err = cli(capsys, "run", "-m", "evil", "--models", str(models), "--no-score",
                       "--no-progress", "--limit", "2")
    assert code == 0, err
    # the records keep the exact text (escaping is for display only)
    lines = (outputs / "evil--starter" / "responses.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["answer"] == EVIL
    code, out, err = cli(capsys, "show", "evil--starter", "--width", "400")
    assert code == 0, err
    for ch in BAD_CHARS:
        assert ch not in out, repr(ch)
    assert "\\x1b[2J" in out and "\\u202e" in out and "答" in out
    code, out, _ = cli(capsys, "show", "evil--starter", "--format", "json")
    assert code == 0
    for ch in BAD_CHARS:
        assert ch not in out, repr(ch)
    data = json.loads(out)  # still valid JSON, and decodes to the escaped preview
    assert "答" in data["rows"][0]["preview"]


def test_show_escapes_every_field_of_a_doctored_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path
) -> None:
    """Imported or edited run files are untrusted too: ids, labels, manifest fields."""
    run_dir = outputs / "doctored"
    manifest = {"run_id": "x\x1b[2J", "fingerprint": {}, "model": {"name": "m\u202e"},
                "probes": {"set": "s\x1b]8;;x\x07", "count": 1}}
    with RunStore.open(run_dir, manifest):
        pass
    rec = {"run_id": "x", "probe_id": "p\x1b[31m", "probe_text": "q", "language": "en\u202e",
           "topic": "t", "kind": "k\x07", "prompt": "p", "answer": EVIL, "created": "now"}
    (run_dir / "responses.jsonl").write_text(json.dumps(rec) + "\n")
    score = {"run_id": "x", "probe_id": "p\x1b[31m", "sample": 0, "label": "refusal",
             "confidence": 0.9, "classifier_version": "v\x1b[2J", "embedder": "e\u202e",
             "embedder_sha256": "0", "flags": ["f\x07"]}
    (run_dir / "scores.jsonl").write_text(json.dumps(score) + "\n")
    for fmt in ("table", "json"):
        code, out, err = cli(capsys, "show", "doctored", "--format", fmt)
        assert code == 0, err
        for ch in BAD_CHARS:
            assert ch not in out, (fmt, repr(ch))
    # a label that diff would reject is refused by show too (one validated Score reader)
    (run_dir / "scores.jsonl").write_text(json.dumps({**score, "label": "refusal\x1b[2J"}) + "\n")
    for fmt in ("table", "json"):
        code, out, err = cli(capsys, "show", "doctored", "--format", fmt)
        one_error(code, err, "invalid score record: label")
        assert not any(ch in err for ch in BAD_CHARS)


def test_safe_json_round_trips() -> None:
    data = {"a": EVIL, "b": ["\U000e0001tag", "\u200bzw"], "c": 1}
    text = safe_json_dumps(data)
    assert json.loads(text) == data
    assert all(ch not in text for ch in (*BAD_CHARS, "\U000e0001", "\u200b"))


def test_printable_helpers() -> None:
    assert printable("a\x1b[2Jb\nc") == "a\\x1b[2Jb\nc"
    assert one_line("a\nb\x1b\tc") == "a b\\x1b c"


@pytest.mark.parametrize("bad", ["../x", "/tmp/x", "..", ".", "a/../../b", "x\x00y",
                                 "\\..\\x", "~/x", "-rf", " x", "x\n", ".hidden"])
def test_run_id_traversal_is_refused(
    capsys: pytest.CaptureFixture[str], fake_models: Path, tmp_path: Path, outputs: Path,
    bad: str,
) -> None:
    with pytest.raises(RunStoreError):
        check_run_id(bad)
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--limit", "1", "--run-id", bad)
    assert code == 2 and "Traceback" not in err, err
    assert not (tmp_path / "x").exists() and not Path("/tmp/x/manifest.json").exists()
    assert not outputs.exists() or not any(outputs.iterdir())


def test_symlinked_run_directory_is_refused_for_writing(
    capsys: pytest.CaptureFixture[str], fake_models: Path, tmp_path: Path, outputs: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outputs.mkdir()
    (outputs / "linked").symlink_to(elsewhere)
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--limit", "1", "--run-id", "linked")
    one_error(code, err, "is a symbolic link")
    assert list(elsewhere.iterdir()) == []
    # a link in place of a run file is refused as well
    real = outputs / "real"
    with RunStore.open(real, {"run_id": "real", "fingerprint": {}}):
        pass
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    (real / "responses.jsonl").symlink_to(target)
    with pytest.raises(RunStoreError, match="symbolic link"):
        RunStore.open(real, {"run_id": "real", "fingerprint": {}})
    assert target.read_text() == "precious"
