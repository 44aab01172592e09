"""``biasprobe probes ...``: list, validate and count probe sets."""

from __future__ import annotations

from typing import Any

import typer

from biasprobe.cli._common import OutputFormat, print_json, print_table

probes_app = typer.Typer(help="Probe sets: list, validate and count them.", no_args_is_help=True)


@probes_app.command("list")
def list_sets(
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """List the built-in probe sets with their prompt counts."""
    from biasprobe.probes import builtin_sets, load_set_file

    rows: list[dict[str, Any]] = []
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


@probes_app.command("validate")
def validate(
    files: list[str] = typer.Argument(
        None,
        help="Probe sets (built-in names or YAML paths) and reference files to check. "
        "Default: every built-in set and reference file, checked together.",
        show_default=False,
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Check probe files: schema, unique ids, EN/zh-Hans pairs, placeholders, language codes.

    Exits 0 when everything passes; otherwise prints one line 'error: <file>: <problem>' and
    exits 2.
    """
    from biasprobe.probes import validate_files

    report = validate_files(files or ())
    rows: list[dict[str, Any]] = [
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


def _pct(summary: dict[str, Any]) -> str:
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


def register(app: typer.Typer) -> None:
    app.add_typer(probes_app, name="probes")
