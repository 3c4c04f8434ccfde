"""Builders for tiny, hand-made model files: an E5S1 file and an XLM-R-style tokenizer.json."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

F32 = 0
Q4_0 = 1


@dataclass(frozen=True)
class Q4Tensor:
    """Q4_0 weights given as their 4-bit codes (0..15) and one fp16 scale per 32 codes."""

    codes: np.ndarray  # uint8, one per weight
    scales: np.ndarray  # float16, one per block of 32

    def pack(self) -> bytes:
        """The 18-byte blocks: scale, then byte j = code j (low nibble) | code j+16 (high nibble)."""
        out = bytearray()
        for block, scale in enumerate(self.scales):
            codes = self.codes[block * 32 : (block + 1) * 32]
            out += struct.pack("<e", float(scale))
            out += bytes(int(codes[j]) | (int(codes[j + 16]) << 4) for j in range(16))
        return bytes(out)

    def values(self) -> np.ndarray:
        """What the weights mean, computed weight by weight: (code - 8) * scale of its block."""
        return np.array(
            [(int(code) - 8) * float(self.scales[i // 32]) for i, code in enumerate(self.codes)],
            dtype=np.float32,
        )


def random_q4(rng: np.random.Generator, count: int) -> Q4Tensor:
    """Random codes and small random scales (exact in fp16)."""
    codes = rng.integers(0, 16, size=count, dtype=np.uint8)
    scales = (rng.integers(1, 64, size=count // 32) / 1024.0).astype(np.float16)
    return Q4Tensor(codes, scales)


def build_e5s1(
    dims: Mapping[str, int], tensors: Mapping[str, np.ndarray | Q4Tensor], *, eps: float = 1e-12
) -> bytes:
    """An E5S1 file: header, a small tokenizer block (skipped by readers), directory, then the data."""
    header = b"E5S1" + struct.pack("<I", 1)
    header += struct.pack(
        "<7i", dims["H"], dims["NL"], dims["NH"], dims["FF"], dims["VOC"], dims["MAXP"], dims["TVS"]
    )
    header += struct.pack("<fi", eps, 32)
    pieces = [b"<s>", b"<pad>", b"</s>", b"<unk>"]
    blob = b"".join(pieces)
    offsets = np.cumsum([0, *(len(p) for p in pieces)]).astype("<u4").tobytes()
    header += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    header += offsets + np.zeros(len(pieces), "<f4").tobytes() + blob
    norm_map = struct.pack("<IB", 0x00A0, 1) + struct.pack("<I", 0x20)  # one entry: NBSP -> space
    header += struct.pack("<iI", 1, len(norm_map)) + norm_map

    payloads = [
        (name, *((Q4_0, t.pack(), len(t.codes)) if isinstance(t, Q4Tensor) else (F32, _f32(t), t.size)))
        for name, t in tensors.items()
    ]
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in payloads)
    offset = len(header) + directory_size
    directory = struct.pack("<i", len(payloads))
    data = b""
    for name, dtype, raw, count in payloads:
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        )
        data += raw
        offset += len(raw)
    return header + directory + data


def _f32(array: np.ndarray) -> bytes:
    return np.asarray(array, dtype="<f4").tobytes()


TINY_DIMS = {"H": 32, "NL": 1, "NH": 2, "FF": 64, "VOC": 8, "MAXP": 16, "TVS": 2}


def tiny_tensors(rng: np.random.Generator, *, type_rows: int = 1) -> dict[str, np.ndarray | Q4Tensor]:
    """Every tensor a one-layer E5S1 model has, with random values; ``emb.type`` holds ``type_rows`` rows."""
    h, ff, voc, maxp = TINY_DIMS["H"], TINY_DIMS["FF"], TINY_DIMS["VOC"], TINY_DIMS["MAXP"]

    def f32(count: int) -> np.ndarray:
        return rng.normal(0, 0.1, size=count).astype(np.float32)

    tensors: dict[str, np.ndarray | Q4Tensor] = {
        "emb.word": random_q4(rng, voc * h),
        "emb.pos": f32(maxp * h),
        "emb.type": f32(type_rows * h),
        "emb.ln.w": 1 + f32(h),
        "emb.ln.b": f32(h),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for part, (rows, cols) in shapes.items():
        tensors[f"l0.{part}.w"] = random_q4(rng, rows * cols)
        tensors[f"l0.{part}.b"] = f32(rows)
    for norm in ("aln", "oln"):
        tensors[f"l0.{norm}.w"] = 1 + f32(h)
        tensors[f"l0.{norm}.b"] = f32(h)
    return tensors


def write_tiny_tokenizer(path: Path) -> Path:
    """A unigram tokenizer.json shaped like XLM-R's: <s>=0, <pad>=1, </s>=2, <unk>=3, four word pieces."""
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("▁hello", -1.0), ("▁world", -1.5), ("▁a", -2.0), ("▁b", -2.5)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    tokenizer.save(str(path))
    return path
