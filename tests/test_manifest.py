"""The manifest model: one shape for runs and imports, versioned, validated on read; manifests
written by biasprobe 0.2 (both writers) still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.errors import RunStoreError
from biasprobe.importer import import_file
from biasprobe.manifest import MANIFEST_VERSION, Manifest
from biasprobe.store import load_manifest, read_manifest
from cli_helpers import assert_one_line_error, cli

# As written by biasprobe 0.2 (runner.py and importer.py), abridged only in hash values.
OLD_RUN = {
    "batch_size": 3, "completed": "2026-11-30T10:00:05Z", "created": "2026-11-30T10:00:00Z",
    "biasprobe_version": "0.2.0", "run_id": "fake-echo--starter", "schema_version": 1, "seed": 0,
    "environment": {"platform": "Linux", "python": "3.12.3"},
    "fingerprint": {"files_sha256": {"fake": "ab"}, "model": {"name": "fake-echo"},
                    "probes_sha256": "cd", "revision": None},
    "generation": {"max_new_tokens": 256, "samples": 1, "seed": 0, "temperature": 0.0,
                   "top_p": 1.0},
    "model": {"entry": {"name": "fake-echo", "backend": "fake"}, "files_sha256": {"fake": "ab"},
              "name": "fake-echo", "origin": {}, "resolved_revision": None,
              "tokenizer_sha256": "ef", "weights_sha256": {}},
    "probes": {"count": 22, "set": "starter", "sha256": "cd"},
    "backend": {"backend": "fake", "chat_template_sha256": None, "device": "none",
                "dtype": "none", "extra": {}, "model_id": "fake-echo", "resolved_revision": None,
                "tokenizer_sha256": None, "versions": {}, "weights_sha256": {}},
    "resumed": ["2026-11-30T10:00:03Z"],
}
OLD_IMPORT = {
    "backend": {"backend": "import", "model_id": "vendor/model-a"},
    "biasprobe_version": "0.2.0", "created": "2026-11-30T10:00:00Z",
    "fingerprint": {"backend": "import", "model": "vendor/model-a", "source_sha256": "97"},
    "finished": "2026-11-30T10:00:01Z", "model": {"name": "vendor/model-a", "source": "import"},
    "probes": {"count": 50, "responses": 50}, "run_id": "model-a", "schema_version": 1,
    "source": {"lines": 50, "path": "/tmp/a.jsonl", "sha256": "97"}, "status": "complete",
}


def _write(run_dir: Path, manifest: object) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run_dir / "responses.jsonl").write_text("", encoding="utf-8")
    return run_dir


def test_old_manifests_of_both_writers_read(tmp_path: Path) -> None:
    run = load_manifest(_write(tmp_path / "a", OLD_RUN))
    assert (run.model_name, run.probes.set, run.probes.count) == ("fake-echo", "starter", 22)
    assert run.complete and not run.imported and run.backend is not None
    assert run.backend.device == "none" and run.resumed == ["2026-11-30T10:00:03Z"]
    imp = load_manifest(_write(tmp_path / "b", OLD_IMPORT))
    assert imp.imported and imp.complete and imp.model_name == "vendor/model-a"
    assert imp.source is not None and imp.source.lines == 50 and imp.generation is None


def test_new_runs_and_imports_write_the_same_shape_as_before(
    tmp_path: Path, fake_models: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--no-score", "--no-progress")
    assert code == 0, err
    written = read_manifest(outputs / "fake-echo--starter")
    assert set(written) == set(OLD_RUN) - {"resumed"}  # no key added or lost (not resumed)
    assert set(written["model"]) == set(OLD_RUN["model"])  # type: ignore[arg-type]
    assert written["schema_version"] == MANIFEST_VERSION
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"prompt_id": "q", "prompt": "q?", "response": "a.", "model": "m/1"}) + "\n")
    res = import_file(src, "imp")
    written = read_manifest(res.run_dir)
    assert set(written) == set(OLD_IMPORT)
    assert load_manifest(res.run_dir).imported


@pytest.mark.parametrize(("patch", "expected"), [
    ({"probes": {"count": "many"}}, "probes.count"),
    ({"model": {"name": ["not", "a", "name"]}}, "model.name"),
    ({"backend": "transformers"}, "backend"),
    ({"schema_version": 99}, "newer than this biasprobe reads"),
    ({"resumed": "yesterday"}, "resumed"),
])
def test_a_corrupt_manifest_is_one_error_line(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str],
    patch: dict[str, object], expected: str,
) -> None:
    run_dir = _write(outputs / "bad", {**OLD_RUN, "run_id": "bad", **patch})
    with pytest.raises(RunStoreError, match="corrupt manifest"):
        load_manifest(run_dir)
    code, _, err = cli(capsys, "show", "bad")
    assert_one_line_error(code, err, expected)


def test_unknown_keys_are_kept_not_interpreted() -> None:
    m = Manifest.model_validate({**OLD_IMPORT, "judgements": {"n": 3}})
    assert m.model_dump()["judgements"] == {"n": 3}
    assert Manifest.model_validate({"run_id": "x", "model": "vendor/m"}).model_name == "vendor/m"
