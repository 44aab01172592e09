"""biasprobe: censorship and bias probing for open-weight language models.

The Python API (for notebooks) is two functions, imported lazily so ``import biasprobe`` and the
command line start fast:

- ``biasprobe.open_run(id_or_path)``: a typed :class:`biasprobe.api.Run` (manifest, responses,
  scores, overrides; ``.to_pandas()`` with one row per response);
- ``biasprobe.diff(a, b, **options)``: the result of ``biasprobe diff A B`` as a value (a typed
  :class:`biasprobe.results.DiffResult`).
"""

from __future__ import annotations

import sys
import types
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biasprobe.api import Run
    from biasprobe.results import DiffResult

try:
    __version__ = version("biasprobe")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"


def open_run(run: str | Path) -> Run:
    """Open a run by id (under the outputs directory) or by its folder path."""
    from biasprobe.api import open_run as _open_run

    return _open_run(run)


def diff(a: str | Path, b: str | Path, **options: Any) -> DiffResult:  # type: ignore[no-redef]
    """Compare two scored runs: what ``biasprobe diff A B --format json`` prints, as a value."""
    from biasprobe.api import diff as _diff

    return _diff(a, b, **options)


class _Package(types.ModuleType):
    """``biasprobe.diff`` is both this function and the submodule ``biasprobe/diff.py``. Importing
    the submodule makes the import system set it as an attribute of the package; this keeps the
    function there (the module stays importable: ``from biasprobe.diff import ...``)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "diff" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
