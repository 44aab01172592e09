"""``biasprobe models list`` and ``biasprobe pull MODEL``."""

from __future__ import annotations

from pathlib import Path

import typer

from biasprobe.cli._common import OutputFormat, print_json, print_table

models_app = typer.Typer(help="The model registry (models.yaml).", no_args_is_help=True)

ModelsFile = typer.Option(
    None, "--models", help="Extra models.yaml whose entries add to or override the built-in ones."
)


@models_app.command("list")
def list_models(
    models_file: Path | None = ModelsFile,
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """List registered models and where their weights come from."""
    from biasprobe.config import DEFAULT_MODEL, Registry, source_label

    registry = Registry.load(models_file)
    rows = [
        {
            "name": m.name,
            "default": m.name == DEFAULT_MODEL,
            "source": source_label(m.source),
            "backend": m.backend,
            "reasoning": m.reasoning.mode,
            "description": m.description,
        }
        for m in registry
    ]
    if fmt is OutputFormat.json:
        print_json(rows)
        return
    print_table(
        ["name", "source", "reasoning", "description"],
        [[r["name"] + (" (default)" if r["default"] else ""), r["source"], r["reasoning"],
          r["description"][:60]] for r in rows],
    )


def pull(
    model: str = typer.Argument(None, help="Model name (default: the built-in default model)."),
    models_file: Path | None = ModelsFile,
) -> None:
    """Download, verify and (for GGUF) convert a model's weights into the cache."""
    from biasprobe.backends import resolve_model
    from biasprobe.config import DEFAULT_MODEL, Registry

    entry = Registry.load(models_file).get(model or DEFAULT_MODEL)
    resolved = resolve_model(entry, log=lambda m: typer.echo(m, err=True))
    typer.echo(f"{entry.name}: ready at {resolved.path}")
    for name, digest in sorted(resolved.weights_sha256.items()):
        typer.echo(f"  {name}  sha256 {digest}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command("pull")(pull)
