"""Conversion of an E5S1 file into a transformers model directory, on a tiny hand-made model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from transformers import AutoModel

from knowledge import convert
from knowledge.convert import (
    MARKER_FILE,
    PINNED_SHA256,
    bert_state_key,
    convert_e5s1,
    convert_packaged_e5,
    is_converted,
    packaged_sources,
    read_marker,
    sha256_file,
)
from knowledge.errors import ModelFormatError, ModelIntegrityError
from tests.knowledge.synthetic import TINY_DIMS, Q4Tensor


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("emb.word", "embeddings.word_embeddings.weight"),
        ("emb.pos", "embeddings.position_embeddings.weight"),
        ("emb.type", "embeddings.token_type_embeddings.weight"),
        ("emb.ln.w", "embeddings.LayerNorm.weight"),
        ("emb.ln.b", "embeddings.LayerNorm.bias"),
        ("l0.q.w", "encoder.layer.0.attention.self.query.weight"),
        ("l3.k.b", "encoder.layer.3.attention.self.key.bias"),
        ("l11.v.w", "encoder.layer.11.attention.self.value.weight"),
        ("l2.ao.w", "encoder.layer.2.attention.output.dense.weight"),
        ("l2.aln.b", "encoder.layer.2.attention.output.LayerNorm.bias"),
        ("l5.fi.w", "encoder.layer.5.intermediate.dense.weight"),
        ("l5.fo.b", "encoder.layer.5.output.dense.bias"),
        ("l9.oln.w", "encoder.layer.9.output.LayerNorm.weight"),
    ],
)
def test_every_e5s1_name_maps_to_its_bert_key(name: str, key: str) -> None:
    assert bert_state_key(name) == key


@pytest.mark.parametrize("name", ["emb.word.w", "l0.zz.w", "lx.q.w", "l0.q.x", "pooler.w"])
def test_unknown_names_are_refused(name: str) -> None:
    with pytest.raises(ModelFormatError):
        bert_state_key(name)


def test_tiny_model_converts_loads_and_keeps_every_weight(
    tiny_sources: tuple[Path, Path, dict[str, np.ndarray | Q4Tensor]], tmp_path: Path
) -> None:
    weights, tokenizer, tensors = tiny_sources
    target = convert_e5s1(weights, tokenizer, tmp_path / "out")
    assert {"config.json", "model.safetensors", "tokenizer.json", MARKER_FILE} <= {
        p.name for p in target.iterdir()
    }
    model = AutoModel.from_pretrained(target, local_files_only=True, add_pooling_layer=False)
    state = model.state_dict()
    for name, tensor in tensors.items():
        expected = tensor.values() if isinstance(tensor, Q4Tensor) else tensor
        got = state[bert_state_key(name)].float().numpy().reshape(-1)
        if name == "emb.type":  # one row stored; row 1 is added as zeros
            np.testing.assert_array_equal(got[TINY_DIMS["H"] :], 0.0)
            got = got[: TINY_DIMS["H"]]
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)  # saved as fp16
    assert model.config.pad_token_id == 1
    assert model.config.layer_norm_eps == 1e-12


def test_conversion_is_skipped_when_the_marker_matches(
    tiny_sources: tuple[Path, Path, dict[str, np.ndarray | Q4Tensor]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weights, tokenizer, _ = tiny_sources
    target = convert_e5s1(weights, tokenizer, tmp_path / "out")
    marker = read_marker(target)
    assert marker is not None
    assert marker["source_sha256"] == {"weights": sha256_file(weights), "tokenizer": sha256_file(tokenizer)}

    def must_not_run(*args: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(convert, "_write_model_dir", must_not_run)
    assert convert_e5s1(weights, tokenizer, target) == target


def test_a_stale_or_partial_target_is_replaced(
    tiny_sources: tuple[Path, Path, dict[str, np.ndarray | Q4Tensor]], tmp_path: Path
) -> None:
    weights, tokenizer, _ = tiny_sources
    target = tmp_path / "out"
    target.mkdir()
    (target / "model.safetensors").write_bytes(b"half a file")
    convert_e5s1(weights, tokenizer, target)
    assert read_marker(target) is not None
    AutoModel.from_pretrained(target, local_files_only=True, add_pooling_layer=False)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_the_pinned_sums_are_those_of_the_installed_packages() -> None:
    for role, path in packaged_sources().items():
        assert sha256_file(path) == PINNED_SHA256[role], path


def test_packaged_conversion_refuses_files_whose_sum_changed(
    tiny_sources: tuple[Path, Path, dict[str, np.ndarray | Q4Tensor]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weights, tokenizer, _ = tiny_sources
    monkeypatch.setattr(convert, "packaged_sources", lambda: {"weights": weights, "tokenizer": tokenizer})
    with pytest.raises(ModelIntegrityError, match="sha256"):
        convert_packaged_e5(tmp_path / "default")
    assert not is_converted(tmp_path / "default")
