"""Where the shared provider corpus lives: ``../shared/corpus`` beside the clone (never copied in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CORPUS_DIR", "corpus_bytes", "corpus_json"]

CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def _path(*parts: str) -> Path:
    path = CORPUS_DIR.joinpath(*parts)
    # A missing corpus is a broken checkout, not a reason to skip: the corpus tests are the point.
    assert path.is_file(), f"corpus file missing: {path} (CI keeps ../shared beside the clone)"
    return path


def corpus_bytes(*parts: str) -> bytes:
    """The raw bytes of ``corpus/<parts...>``."""
    return _path(*parts).read_bytes()


def corpus_json(*parts: str) -> Any:
    """``corpus/<parts...>`` parsed as JSON."""
    return json.loads(_path(*parts).read_bytes())
