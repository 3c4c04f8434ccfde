"""What encoders share: the two kinds of text, the embeddings type and the ``TextEncoder`` protocol."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol, get_args

import numpy as np
from numpy.typing import NDArray

__all__ = ["E5_PREFIXES", "Embeddings", "Kind", "TextEncoder", "check_kind", "package_file"]

Kind = Literal["query", "passage"]
Embeddings = NDArray[np.float32]

# e5 models were trained with these prefixes: "query: " for messages and questions, "passage: " for articles.
E5_PREFIXES: Mapping[Kind, str] = {"query": "query: ", "passage": "passage: "}
_KINDS: frozenset[str] = frozenset(get_args(Kind))


class TextEncoder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows, one per text."""

    @property
    def model_id(self) -> str:
        """The model that makes the embeddings, recorded with everything derived from them."""
        ...

    def encode(self, texts: Sequence[str], kind: Kind | Sequence[Kind] = "query") -> Embeddings:
        """Embed ``texts``; ``kind`` is one kind for all or one per text."""
        ...


def check_kind(kind: str) -> Kind:
    """``kind`` if it is ``"query"`` or ``"passage"``; ValueError otherwise."""
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
    return kind  # type: ignore[return-value]  # checked against Kind's values just above


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    # The model packages are installed --no-deps and only their data is ours to use; running their
    # __init__ would pull in code (and imports) we never call.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed (see scripts/setup.sh)")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {package!r}")
    return path
