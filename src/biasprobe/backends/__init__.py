"""Generation backends. Heavy imports (torch, transformers, httpx) happen inside each module."""
