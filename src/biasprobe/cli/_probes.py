"""``biasprobe probes ...``: list, validate, count and import probe sets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import typer

from biasprobe.cli._common import OutputFormat, print_json, print_table

if TYPE_CHECKING:
    from biasprobe.probes.stats import ProbeSummary

probes_app = typer.Typer(
    help="Probe sets: list, validate, count and import them.", no_args_is_help=True
)

#: ``--map FIELD=COLUMN`` (or ``FIELD==VALUE``): the column mapping of CSV / JSONL / text files,
#: shared by ``run``, ``probes validate`` and ``probes import``.
MapOption: Any = typer.Option(
    [], "--map", metavar="FIELD=COLUMN",
    help="For CSV / JSONL / text probe files: which column feeds a probe field (text, id, topic, "
    "language, kind, jurisdiction, pair_id), or FIELD==VALUE for one value on every row "
    "(e.g. --map kind==censorship); also source==, licence==, name==. Repeatable.",
)


class _SetRow(TypedDict):
    name: str
    probes: int
    languages: list[str]
    kinds: list[str]
    path: str


@probes_app.command("list")
def list_sets(
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """List the built-in probe sets with their prompt counts."""
    from biasprobe.probes import builtin_sets, load_set_file

    rows: list[_SetRow] = []
    for name, path in builtin_sets().items():
        s = load_set_file(path)
        langs = sorted({p.language for p in s.probes})
        kinds = sorted({p.kind.value for p in s.probes})
        rows.append(
            {
                "name": name,
                "probes": len(s.probes),
                "languages": langs,
                "kinds": kinds,
                "path": str(path),
            }
        )
    if fmt is OutputFormat.json:
        print_json(rows)
        return
    print_table(
        ["set", "probes", "languages", "kinds", "path"],
        [
            [r["name"], r["probes"], ",".join(r["languages"]), ",".join(r["kinds"]), r["path"]]
            for r in rows
        ],
    )


class _FileRow(TypedDict):
    file: str
    type: str  # probes or references
    count: int


@probes_app.command("validate")
def validate(
    files: list[str] = typer.Argument(
        None,
        help="Probe sets (built-in names or YAML paths) and reference files to check. "
        "Default: every built-in set and reference file, checked together.",
        show_default=False,
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
    mapping: list[str] = MapOption,
) -> None:
    """Check probe files: schema, unique ids, EN/zh-Hans pairs, placeholders, language codes.

    Exits 0 when everything passes; otherwise prints one line 'error: <file>: <problem>' and
    exits 2. Imported sets (and CSV / JSONL / text files) are not asked for EN/zh-Hans pairs.
    """
    from biasprobe.probes import ColumnMap, validate_files

    report = validate_files(files or (), ColumnMap.from_pairs(mapping))
    rows: list[_FileRow] = [
        {"file": str(s.path), "type": "probes", "count": len(s.probes)} for s in report.sets
    ]
    rows += [
        {"file": str(p), "type": "references", "count": len(refs)}
        for p, refs in report.references.items()
    ]
    if fmt is OutputFormat.json:
        print_json({"ok": True, "files": rows})
        return
    print_table(["file", "type", "count"], [[r["file"], r["type"], r["count"]] for r in rows])
    n_probes = sum(len(s.probes) for s in report.sets)
    n_refs = sum(len(r) for r in report.references.values())
    typer.echo(f"ok: {len(rows)} file(s), {n_probes} probes, {n_refs} reference statements")


def _pct(summary: ProbeSummary) -> str:
    return f"{summary['pct_with_en_and_zh_hans']}%"


@probes_app.command("stats")
def stats(
    names: list[str] = typer.Argument(
        None,
        help="Probe sets (built-in names or YAML paths). Default: every built-in set.",
        show_default=False,
    ),
    by: str = typer.Option(
        "kind,topic,language,jurisdiction",
        "--by",
        help="Comma-separated dimensions to count by: kind, topic, language, jurisdiction.",
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Counts by topic x language x kind x jurisdiction, and the curation targets."""
    from biasprobe.probes import builtin_sets, load_references, load_sets, probe_stats

    dims = [d.strip() for d in by.split(",") if d.strip()]
    sets = load_sets(names or list(builtin_sets()))
    result = probe_stats(sets, load_references(), dims)
    if fmt is OutputFormat.json:
        print_json(result)
        return
    s = result["summary"]
    lines = [
        ("sets", ", ".join(s["sets"])),
        ("probes", s["probes"]),
        ("by kind", ", ".join(f"{k} {n}" for k, n in s["by_kind"].items())),
        ("languages", ", ".join(f"{k} {n}" for k, n in s["languages"].items())),
        (
            "China-sensitive questions",
            f"{s['china_sensitive_questions']} ({s['china_sensitive_prompts']} prompts)",
        ),
        ("China-sensitive topics", s["china_sensitive_topics"]),
        ("with EN + zh-Hans", _pct(s)),
        ("Taiwan/HK with zh-Hant", s["taiwan_hk_questions_with_zh_hant"]),
        (
            "mirror governments",
            f"{len(s['mirror_governments'])} "
            f"({', '.join(s['mirror_governments'])}), {s['mirror_templates']} templates",
        ),
        ("control kinds", ", ".join(s["control_kinds"]) or "none"),
        (
            "reference statements",
            f"{s['reference_statements']} over {s['reference_topics']} topics",
        ),
        ("China topics w/o references", ", ".join(s["china_topics_without_references"]) or "none"),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        typer.echo(f"{k.ljust(width)}  {v}")
    typer.echo("")
    print_table(
        [*result["by"], "probes"],
        [[row[d] for d in result["by"]] + [row["probes"]] for row in result["counts"]],
    )


def _field(name: str, what: str) -> Any:
    return typer.Option(
        None, f"--{name}", metavar="COLUMN|=VALUE",
        help=f"Column holding {what}, or =VALUE for every row.", show_default=False,
    )


@probes_app.command("import")
def import_set(
    file: Path = typer.Argument(..., help="A CSV (header row), JSONL or text file (one prompt a line).",
                                show_default=False),
    fmt: str | None = typer.Option(None, "--format", help="csv, jsonl or txt (default: from the "
                                   "extension: .csv, .jsonl/.ndjson, .txt)."),
    text: str | None = _field("text", "the prompt (default: a column text, prompt or question)"),
    ident: str | None = _field("id", "the probe id (default: a column id, else "
                               "<name>-<10 hex of sha256(text)>)"),
    topic: str | None = _field("topic", "the topic, made kebab-case (default: a column topic, "
                               "category or subject)"),
    language: str | None = _field("language", "the BCP-47 language (default: a column language "
                                  "or lang, else en; =auto: zh-Hans / zh-Hant for mostly-Chinese "
                                  "text, else en, per row)"),
    kind: str | None = _field("kind", "the probe kind: censorship, mirror, safety-control, "
                              "benign-control, neutral (default: a column kind)"),
    jurisdiction: str | None = _field("jurisdiction", "the ISO 3166-1 code of the government "
                                      "asked about (default: a column jurisdiction, else none)"),
    source: str | None = typer.Option(None, "--source", help="Where the prompts come from "
                                      "(default: the file name)."),
    licence: str | None = typer.Option(None, "--licence", help="Licence of the prompts (required)."),
    name: str | None = typer.Option(None, "--name", help="Set name (default: the file name, "
                                    "kebab-case); also the prefix of generated ids."),
    mapping: list[str] = MapOption,
    output: Path | None = typer.Option(None, "--output", "-o", help="YAML file to write "
                                       "(default: next to FILE, with a .yaml extension)."),
    force: bool = typer.Option(False, "--force", help="Replace the output file if it exists."),
) -> None:
    """Import a foreign prompt set (promptfoo, deccp, SpeechMap, XSTest ...) as a validated YAML set.

    The YAML records where the prompts came from (file, sha256, column mapping) and loads back to
    the same probes; `biasprobe run -p FILE.csv --map ...` reads such files directly.
    """
    from biasprobe.errors import ProbeError
    from biasprobe.probes import ColumnMap, RowFormat, import_prompts

    try:
        row_format = RowFormat(fmt) if fmt else None
    except ValueError:
        raise ProbeError(f"--format {fmt!r}: use csv, jsonl or txt") from None
    columns = ColumnMap.from_pairs(
        mapping, text=text, id=ident, topic=topic, language=language, kind=kind,
        jurisdiction=jurisdiction, source=source, licence=licence, name=name,
    )
    result = import_prompts(file, columns, row_format, output, force)
    typer.echo(f"ok: wrote {result.path} ({result.probes} probes, set {result.name!r}); "
               f"check it with: biasprobe probes validate {result.path}")


def register(app: typer.Typer) -> None:
    app.add_typer(probes_app, name="probes")
