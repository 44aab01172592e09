"""biasprobe: censorship and bias probing for open-weight language models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("biasprobe")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"
