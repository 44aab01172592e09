"""Where state lives. Read from the environment on every call: no module-level state.

- ``BIASPROBE_OUTPUTS``: run directories (default ``./outputs``).
- ``BIASPROBE_HOME``: caches such as converted weights (default ``~/.cache/biasprobe``).
- ``BIASPROBE_MODELS``: an extra models.yaml that adds or overrides registry entries.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def outputs_dir() -> Path:
    return Path(os.environ.get("BIASPROBE_OUTPUTS", "outputs"))


def home_dir() -> Path:
    env = os.environ.get("BIASPROBE_HOME")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "biasprobe"


def cache_dir(*parts: str) -> Path:
    """A subdirectory of the cache (created on demand); a file in the way is one error line."""
    from biasprobe.errors import BiasprobeError

    path = home_dir().joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BiasprobeError(
            f"cache directory {path}: cannot create ({exc.strerror}); check BIASPROBE_HOME"
        ) from None
    return path


def data_dir() -> Path:
    """Built-in data (models.yaml, probes/).

    In a wheel they are packaged under ``biasprobe/_data``; in a source checkout (editable
    install) they are the repository's top-level ``models.yaml`` and ``probes/``.
    """
    packaged = Path(str(resources.files("biasprobe"))) / "_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2]


def package_file(*parts: str) -> Path:
    """A data file that ships inside the package (exemplar banks, templates)."""
    return Path(str(resources.files("biasprobe"))).joinpath(*parts)
