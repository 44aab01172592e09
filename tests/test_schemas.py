"""The shipped JSON Schemas equal the generated ones, and real output validates against them.

No jsonschema dependency: :func:`validate` below checks the subset of JSON Schema that
pydantic emits for these models (type, properties, required, additionalProperties, items,
anyOf, $ref, enum/const); anything else in a schema fails the test loudly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from biasprobe.results import SCHEMAS, json_schema
from cli_helpers import cli
from diff_helpers import make_runs

SCHEMA_DIR = Path(__file__).parent.parent / "schemas"
TYPES: dict[str, Any] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
    "integer": int, "number": (int, float),
}
KNOWN = {"type", "properties", "required", "additionalProperties", "items", "anyOf", "$ref",
         "$defs", "title", "description", "default", "enum", "const"}


def validate(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$") -> None:
    unknown = set(schema) - KNOWN
    assert not unknown, f"{path}: schema keywords not checked here: {unknown}"
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        validate(value, root["$defs"][name], root, path)
        return
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, root, path)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{path}: matches no anyOf option: {errors}")
    if "const" in schema:
        assert value == schema["const"], path
    if "enum" in schema:
        assert value in schema["enum"], path
    kind = schema.get("type")
    if kind is not None:
        ok = isinstance(value, TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool)
        )
        assert ok, f"{path}: {value!r} is not {kind}"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key}"
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                validate(item, props[key], root, f"{path}.{key}")
            elif extra is False:
                raise AssertionError(f"{path}: unexpected field {key}")
            elif isinstance(extra, dict):
                validate(item, extra, root, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, f"{path}[{i}]")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_shipped_schema_is_the_generated_one(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert shipped == json_schema(name), (
        f"schemas/{name}.schema.json is stale: biasprobe schema {name} > schemas/{name}.schema.json"
    )
    code, out, _ = cli(capsys, "schema", name)
    assert code == 0 and json.loads(out) == shipped


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    return make_runs(tmp_path)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("diff", ["diff", "model-a", "model-b"]),
        ("compare", ["compare", "model-a", "model-b", "model-a"]),
        ("report", ["report", "model-a", "model-b", "model-a"]),
    ],
)
def test_real_output_validates(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], name: str, args: list[str]
) -> None:
    code, out, _ = cli(capsys, *args, "--format", "json")
    assert code == 0
    data = json.loads(out)
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    validate(data, schema, schema)
    # The validator is not a rubber stamp: a stray field or a wrong type fails it.
    data["unexpected"] = 1
    with pytest.raises(AssertionError, match="unexpected field"):
        validate(data, schema, schema)
    del data["unexpected"]
    data["warnings"] = "not a list"
    with pytest.raises(AssertionError, match="not array"):
        validate(data, schema, schema)
