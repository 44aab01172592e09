"""The ``biasprobe`` command line: a thin typer layer over the library.

Each command group lives in its own small module with a ``register(app)`` function. Command
bodies import the heavy parts of the library (torch, transformers, sentence-transformers)
lazily, so ``biasprobe --help`` stays fast. ``main`` maps user errors to one line and an
exit code (0 ok, 1 a check failed or an internal error, 2 bad input or usage, 130
interrupted), never a traceback; usage errors and library warnings are one line too.
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


def _usage_error(exc: typer.TyperException) -> None:
    """Usage errors (click prints three lines) as one line; bare ``biasprobe`` shows help.

    Typer bundles its own click, so its exception classes are reached by name, not import."""
    code = int(getattr(exc, "exit_code", 2))
    if type(exc).__name__ == "NoArgsIsHelpError":
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        sys.exit(code)
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "biasprobe"
    fail(f"{message} (see: {path} --help)", code)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """Warnings (ours and libraries', e.g. matplotlib quoting a label) as one escaped line."""
    from biasprobe.textutil import one_line

    typer.echo(f"warning: {one_line(str(message))}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every failure is one ``error:`` line, never a traceback.

    Exit codes: 0 ok, 1 a check failed (``diff --fail-on``) or an internal error, 2 bad input
    or usage, 130 interrupted. ``BIASPROBE_DEBUG=1`` re-raises unexpected errors."""
    import os
    import warnings

    command = typer.main.get_command(app)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            rv = command.main(args=argv, prog_name="biasprobe", standalone_mode=False)
    except BiasprobeError as exc:
        fail(exc.message, exc.exit_code)
    except typer.Abort:
        fail("aborted", 130)
    except typer.TyperException as exc:  # usage errors: bad option values, missing arguments
        _usage_error(exc)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    except RecursionError:
        fail("input nested too deeply")
    except OSError as exc:  # a full disk, a vanished file: the OS's words, one line
        where = f"{exc.filename}: " if exc.filename else ""
        fail(f"{where}{exc.strerror or exc}")
    except Exception as exc:
        if os.environ.get("BIASPROBE_DEBUG"):
            raise
        fail(
            f"internal error ({type(exc).__name__}: {exc}); please report it "
            "(BIASPROBE_DEBUG=1 shows the traceback)",
            1,
        )
    else:
        sys.exit(rv if isinstance(rv, int) else 0)
