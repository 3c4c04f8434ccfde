"""Sentence embeddings through transformers: e5 prefixes, mean pooling, L2 normalisation."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from .base import E5_PREFIXES, Embeddings, Kind, check_kind
from .convert import DEFAULT_MODEL_ID, ensure_default_model, is_converted, read_marker

__all__ = ["Encoder"]


def _kinds_for(texts: Sequence[str], kind: Kind | Sequence[Kind]) -> list[Kind]:
    if isinstance(kind, str):
        return [check_kind(kind)] * len(texts)
    kinds = [check_kind(k) for k in kind]
    if len(kinds) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(kinds)} kinds")
    return kinds


class Encoder:
    """A transformers encoder loaded once; ``encode`` gives L2-normalised mean-pooled embeddings."""

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        model_id: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        prefixes: Mapping[Kind, str] = E5_PREFIXES,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """Load ``model`` (a local directory or a model id); None: the packaged e5-small in ``data_dir``."""
        if batch_size < 1 or max_length < 2:
            raise ValueError("batch_size must be >= 1 and max_length >= 2")
        source, default_id = _resolve(model, data_dir)
        self.model_id: str = model_id or default_id
        self.batch_size = batch_size
        self.max_length = max_length
        self.prefixes: Mapping[Kind, str] = dict(prefixes)
        # A directory must never send transformers to the Hub; an id follows HF_HUB_OFFLINE.
        load_kwargs: dict[str, Any] = {"local_files_only": True} if isinstance(source, Path) else {}
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(source), **load_kwargs)
        if isinstance(source, Path) and read_marker(source) is not None:
            # Our conversion has no pooler (mean pooling never uses it), so do not build a random one.
            load_kwargs["add_pooling_layer"] = False
        self.model: Any = AutoModel.from_pretrained(str(source), dtype=dtype, **load_kwargs)
        self.model.eval()
        self.dim: int = int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str], kind: Kind | Sequence[Kind] = "query") -> Embeddings:
        """Embed ``texts`` (with the prefix of ``kind``) as an ``(n, dim)`` float32 array of unit rows."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        kinds = _kinds_for(texts, kind)
        prefixed = [self.prefixes[k] + text for k, text in zip(kinds, texts, strict=True)]
        out = np.empty((len(prefixed), self.dim), dtype=np.float32)
        # Similar lengths side by side waste less compute on padding.
        order = sorted(range(len(prefixed)), key=lambda i: len(prefixed[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._encode_batch([prefixed[i] for i in chunk])
        return out

    def _encode_batch(self, texts: list[str]) -> Embeddings:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        mask = batch["attention_mask"]
        with torch.inference_mode():
            hidden = self.model(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
            unit = torch.nn.functional.normalize(pooled.float(), p=2.0, dim=1)
        result: Embeddings = unit.numpy()
        return result


def _resolve(
    model: str | os.PathLike[str] | None, data_dir: str | os.PathLike[str] | None
) -> tuple[str | Path, str]:
    """Where to load from (a local directory or a model id) and the id to record for it."""
    if model is None:
        if data_dir is None:
            raise ValueError("the packaged default model needs a data_dir to be converted into")
        return ensure_default_model(Path(data_dir)), DEFAULT_MODEL_ID
    path = Path(model)
    if path.is_dir():
        return path, DEFAULT_MODEL_ID if is_converted(path) else path.name
    if isinstance(model, os.PathLike):
        raise FileNotFoundError(f"model directory {path} does not exist")
    return model, model
