"""The encoder's plumbing on a tiny converted model (the real model is in test_models.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.base import package_file
from knowledge.convert import convert_e5s1
from knowledge.encoder import Encoder
from tests.knowledge.synthetic import TINY_DIMS, Q4Tensor


@pytest.fixture
def tiny_encoder(
    tiny_sources: tuple[Path, Path, dict[str, np.ndarray | Q4Tensor]], tmp_path: Path
) -> Encoder:
    weights, tokenizer, _ = tiny_sources
    return Encoder(convert_e5s1(weights, tokenizer, tmp_path / "tiny-e5"), batch_size=2)


def test_the_tiny_model_gives_unit_float32_rows(tiny_encoder: Encoder) -> None:
    assert tiny_encoder.model_id == "tiny-e5"  # not the pinned default, so named after its directory
    rows = tiny_encoder.encode(["hello world", "a b hello", "a", "b b b b b"], kind="passage")
    assert rows.shape == (4, TINY_DIMS["H"]) and rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)


def test_rows_come_back_in_the_order_of_the_texts(tiny_encoder: Encoder) -> None:
    texts = ["a b hello world a b", "a", "hello world", "b"]  # sorted by length inside, in batches of 2
    together = tiny_encoder.encode(texts)
    alone = np.concatenate([tiny_encoder.encode([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_one_kind_per_text(tiny_encoder: Encoder) -> None:
    mixed = tiny_encoder.encode(["hello", "hello"], kind=["query", "passage"])
    np.testing.assert_allclose(mixed[0], tiny_encoder.encode(["hello"], "query")[0], atol=1e-6)
    np.testing.assert_allclose(mixed[1], tiny_encoder.encode(["hello"], "passage")[0], atol=1e-6)


def test_bad_calls_are_refused(tiny_encoder: Encoder) -> None:
    assert tiny_encoder.encode([]).shape == (0, TINY_DIMS["H"])
    with pytest.raises(TypeError):
        tiny_encoder.encode("one string")
    with pytest.raises(ValueError, match="2 texts but 1 kinds"):
        tiny_encoder.encode(["a", "b"], kind=["query"])
    with pytest.raises(ValueError, match="kind"):
        tiny_encoder.encode(["a"], kind="document")  # type: ignore[arg-type]


def test_where_to_load_from_must_be_said(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data_dir"):
        Encoder()
    with pytest.raises(FileNotFoundError):
        Encoder(tmp_path / "no-such-model")


def test_package_files_are_found_without_importing_the_package() -> None:
    assert package_file("sentimentai", "default_poles.json").is_file()
    with pytest.raises(FileNotFoundError, match="not installed"):
        package_file("no_such_package_here")
    with pytest.raises(FileNotFoundError, match="missing"):
        package_file("sentimentai", "no-such-file.json")
