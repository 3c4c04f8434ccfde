"""One converted default model and one loaded encoder for the whole session: loading is the slow part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge.encoder import Encoder
from tests.knowledge.synthetic import TINY_DIMS, Q4Tensor, build_e5s1, tiny_tensors, write_tiny_tokenizer

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> Any:
    """A JSON fixture of this folder."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def data_dir(model_home: Path) -> Path:
    """A hub data directory of this session's own, into which the default model is converted once."""
    return model_home


@pytest.fixture(scope="session")
def e5(data_dir: Path) -> Encoder:
    """The packaged multilingual-e5-small, converted into ``data_dir`` and loaded, as the hub would."""
    return Encoder(data_dir=data_dir)


@pytest.fixture
def tiny_sources(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray | Q4Tensor]]:
    """A one-layer, 32-wide E5S1 file with random weights, a matching tokenizer.json and the tensors."""
    tensors = tiny_tensors(np.random.default_rng(7), type_rows=1)
    weights = tmp_path / "tiny-q4.bin"
    weights.write_bytes(build_e5s1(TINY_DIMS, tensors))
    return weights, write_tiny_tokenizer(tmp_path / "tokenizer.json"), tensors
