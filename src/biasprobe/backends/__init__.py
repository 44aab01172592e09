"""Generation backends. Heavy imports (torch, transformers, httpx) happen inside each module.

``resolve_model`` obtains and verifies what a backend needs (weights, hashes) without loading
it, so a run can check its manifest before spending time on loading; ``load_backend`` then
constructs the backend the entry asks for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from biasprobe.backends.base import Backend
from biasprobe.config import FakeSource, ModelEntry
from biasprobe.sources import ResolvedModel


def resolve_model(entry: ModelEntry, log: Callable[[str], None] = print) -> ResolvedModel:
    if isinstance(entry.source, FakeSource):
        digest = hashlib.sha256(json.dumps(entry.source.fake).encode()).hexdigest()
        return ResolvedModel(path=Path("."), revision=None, files_sha256={"fake": digest})
    from biasprobe.sources import resolve

    return resolve(entry, log)


def load_backend(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    if isinstance(entry.source, FakeSource):
        from biasprobe.backends.fake import FakeBackend

        return FakeBackend(entry.source.fake, model_id=entry.name, delay_s=entry.source.delay_s)
    from biasprobe.backends.transformers import TransformersBackend

    return TransformersBackend(entry, resolved)
