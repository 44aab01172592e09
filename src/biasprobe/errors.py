"""User-facing errors.

Every failure a user can cause (bad input, missing files, mismatched runs) raises a subclass of
:class:`BiasprobeError` with a one-line message. The CLI prints ``error: <message>`` and exits
with :attr:`BiasprobeError.exit_code`; it never shows a traceback for these.
"""

from __future__ import annotations


class BiasprobeError(Exception):
    """Base class: a clear, one-line message for the user; exit code 2 (bad input)."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(BiasprobeError):
    """models.yaml is malformed, has unknown keys or wrong types."""


class UnknownModelError(BiasprobeError):
    """The named model is not in any registry."""


class ProbeError(BiasprobeError):
    """A probe file is missing, malformed or violates a rule."""


class RunStoreError(BiasprobeError):
    """A run directory is missing, corrupt, locked or does not match the request."""


class ModelSourceError(BiasprobeError):
    """Weights could not be obtained, failed verification, or are in a refused format."""


class BackendError(BiasprobeError):
    """A generation backend failed in a way the user can fix (missing extra, bad settings)."""


class CheckFailed(BiasprobeError):
    """A requested check failed (e.g. ``diff --fail-on``): exit code 1."""

    exit_code = 1
