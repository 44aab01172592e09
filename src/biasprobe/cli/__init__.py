"""The ``biasprobe`` command line: a thin typer layer over the library.

Each command group lives in its own small module with a ``register(app)`` function. Command
bodies import the heavy parts of the library (torch, transformers, sentence-transformers)
lazily, so ``biasprobe --help`` stays fast. ``main`` maps user errors to one line and an
exit code (0 ok, 1 a check failed, 2 bad input or usage), never a traceback.
"""

from __future__ import annotations

import sys

import typer

from biasprobe.cli import _classify, _coverage, _diff, _internals, _models, _probes, _review, _run
from biasprobe.errors import BiasprobeError

app = typer.Typer(
    name="biasprobe",
    help="Probe open-weight language models for censorship and political bias.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

for _module in (_models, _probes, _run, _classify, _diff, _review, _coverage, _internals):
    _module.register(app)


def _version_callback(value: bool) -> None:
    if value:
        from biasprobe import __version__

        typer.echo(f"biasprobe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """Probe open-weight language models for censorship and political bias."""


def fail(message: str, code: int = 2) -> None:
    """Print ``error: <message>`` as exactly one line (control characters escaped: messages
    may quote file contents or model output) and exit with ``code``."""
    from biasprobe.textutil import one_line

    typer.echo(f"error: {one_line(message)}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="biasprobe", standalone_mode=False)
    except BiasprobeError as exc:
        fail(exc.message, exc.exit_code)
    except typer.Abort:
        fail("aborted", 130)
    except typer.TyperException as exc:  # usage errors: bad option values, missing arguments
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            fail(str(exc))
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    else:
        sys.exit(rv if isinstance(rv, int) else 0)
