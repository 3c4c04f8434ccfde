"""The E5S1 reader: Q4_0 dequantisation on hand-built blocks, the header and the tensor directory."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from knowledge.e5s1 import dequantize_q4_0, parse_e5s1, read_tensor
from knowledge.errors import ModelFormatError
from tests.knowledge.synthetic import TINY_DIMS, Q4Tensor, build_e5s1, tiny_tensors


def test_dequantize_one_hand_built_block() -> None:
    # Scale 0.5; byte j holds code j in its low nibble and code 15 - j in its high nibble.
    block = struct.pack("<e", 0.5) + bytes(j | ((15 - j) << 4) for j in range(16))
    expected = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    assert dequantize_q4_0(block, 32).tolist() == expected


def test_dequantize_two_blocks_each_with_its_own_scale() -> None:
    first = struct.pack("<e", -0.25) + bytes([0x8F] * 16)  # low code 15 -> 7, high code 8 -> 0
    second = struct.pack("<e", 2.0) + bytes([0x10] * 16)  # low code 0 -> -8, high code 1 -> -7
    values = dequantize_q4_0(first + second, 64)
    assert values[:16].tolist() == [-1.75] * 16
    assert values[16:32].tolist() == [0.0] * 16
    assert values[32:48].tolist() == [-16.0] * 16
    assert values[48:].tolist() == [-14.0] * 16


def test_dequantize_random_codes_matches_the_formula_weight_by_weight() -> None:
    rng = np.random.default_rng(1)
    tensor = Q4Tensor(rng.integers(0, 16, 32 * 9, dtype=np.uint8), rng.normal(size=9).astype(np.float16))
    np.testing.assert_array_equal(dequantize_q4_0(tensor.pack(), 32 * 9), tensor.values())
    half = dequantize_q4_0(tensor.pack(), 32 * 9, np.float16)
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, tensor.values(), rtol=1e-3)


@pytest.mark.parametrize(("nbytes", "count"), [(18, 31), (17, 32), (36, 32)])
def test_dequantize_rejects_sizes_that_do_not_fit(nbytes: int, count: int) -> None:
    with pytest.raises(ModelFormatError):
        dequantize_q4_0(bytes(nbytes), count)


def test_parse_reads_header_and_directory_past_the_tokenizer_block() -> None:
    tensors = tiny_tensors(np.random.default_rng(2))
    model = parse_e5s1(build_e5s1(TINY_DIMS, tensors))
    assert (model.header.hidden, model.header.layers, model.header.heads) == (32, 1, 2)
    assert (model.header.intermediate, model.header.vocab, model.header.max_positions) == (64, 8, 16)
    assert model.header.block == 32
    assert set(model.tensors) == set(tensors)
    word = tensors["emb.word"]
    assert isinstance(word, Q4Tensor)
    np.testing.assert_array_equal(read_tensor(model, "emb.word"), word.values())
    np.testing.assert_array_equal(read_tensor(model, "emb.pos"), tensors["emb.pos"])


def test_parse_rejects_a_file_that_is_not_e5s1() -> None:
    with pytest.raises(ModelFormatError, match="magic"):
        parse_e5s1(b"GGUF" + bytes(64))


def test_parse_rejects_a_truncated_file() -> None:
    data = build_e5s1(TINY_DIMS, tiny_tensors(np.random.default_rng(3)))
    with pytest.raises(ModelFormatError):
        parse_e5s1(data[:100])
    with pytest.raises(ModelFormatError, match="past the end"):
        parse_e5s1(data[:-10])


def test_read_tensor_names_a_missing_tensor() -> None:
    model = parse_e5s1(build_e5s1(TINY_DIMS, tiny_tensors(np.random.default_rng(4))))
    with pytest.raises(ModelFormatError, match=r"l7\.q\.w"):
        read_tensor(model, "l7.q.w")
