"""Making untrusted model output safe to show (built on :mod:`biasprobe.textutil`).

Model answers (and imported metadata) are untrusted text. In a terminal, escape sequences could
recolour, move the cursor, rewrite earlier lines or set the window title; in HTML, markup could
run scripts. Terminal output goes through :func:`clean_terminal`, JSON through
:func:`safe_json_dumps`, Markdown through :func:`md_cell`; HTML relies on Jinja2 autoescape.
"""

from __future__ import annotations

import re

from biasprobe.textutil import one_line as _one_line
from biasprobe.textutil import printable
from biasprobe.textutil import safe_json_dumps as safe_json_dumps


def clean_terminal(text: str, *, one_line: bool = False) -> str:
    """Show control characters as visible escapes (``\\x1b``) instead of sending them
    (the project's one escaper, :mod:`biasprobe.textutil`)."""
    return _one_line(text) if one_line else printable(text)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_cell(text: str, limit: int | None = None) -> str:
    """Untrusted text as one Markdown table cell: no HTML, no markup, no line breaks."""
    import html

    out = clean_terminal(text, one_line=True)
    if limit is not None:
        out = truncate(out, limit)
    out = html.escape(out, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", out)
