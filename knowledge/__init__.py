"""Knowledge: the model layer (encoder, micro-batcher, sentiment); articles and retrieval come later.

Imports nothing of ours; takes and returns plain types. Public API:

- ``ensure_default_model(data_dir) -> Path``: the packaged multilingual-e5-small as a transformers model
  directory under ``<data_dir>/models/multilingual-e5-small``, converted there once (sha256-checked);
  ``convert_packaged_e5(target)`` does the conversion into any directory; ``is_converted(path)``.
- ``Encoder(model=None, *, data_dir=None, ...)``: any model id or local directory through ``AutoModel``
  (None: the default model in ``data_dir``); ``encode(texts, kind="query"|"passage")`` gives an
  ``(n, dim)`` float32 array of L2-normalised mean-pooled embeddings; ``model_id`` names the model.
- ``MicroBatcher(load, max_batch=32, max_wait_ms=10)``: ``await encode(text, kind)`` from many
  coroutines, one encoder call per batch in one worker thread; ``warm_up()``, ``backlog``, ``close()``.
- ``SentimentScorer`` (``for_encoder(encoder)``, ``score(embeddings) -> list[SentimentScore]``) built from
  ``SentimentHead.packaged()`` (sentimentai-py's head) and ``AnchorSignal`` (zero-shot anchor phrases);
  ``SentimentScore(label, score, probabilities, model)``.
- ``TextEncoder`` (the protocol the batcher and scorer accept), ``Kind``, ``Embeddings``.
- Errors: ``KnowledgeError`` and its ``ModelFormatError``, ``ModelIntegrityError``, ``BatcherClosedError``.

Wiring, as the hub does it (every model call off the event loop)::

    batcher = MicroBatcher(lambda: Encoder(data_dir=data_dir))   # converts on first use, once
    encoder_model_id = await batcher.warm_up()
    anchors = AnchorSignal.from_embeddings(
        {label: await batcher.encode_many(ANCHOR_PHRASES[label]) for label in LABELS}
    )
    scorer = SentimentScorer(SentimentHead.packaged(), encoder_model_id=encoder_model_id, anchors=anchors)
    vector = await batcher.encode(message_text, "query")    # once per message: sentiment, retrieval, ...
    (sentiment,) = scorer.score(vector)
"""

from typing import TYPE_CHECKING, Any

from .base import E5_PREFIXES, Embeddings, Kind, TextEncoder
from .batcher import MicroBatcher
from .errors import BatcherClosedError, KnowledgeError, ModelFormatError, ModelIntegrityError
from .sentiment import (
    ANCHOR_PHRASES,
    LABELS,
    AnchorSignal,
    Label,
    SentimentHead,
    SentimentScore,
    SentimentScorer,
)

if TYPE_CHECKING:
    from .convert import DEFAULT_MODEL_ID, convert_packaged_e5, ensure_default_model, is_converted
    from .encoder import Encoder

# torch and transformers take seconds to import: only the parts that run a model load them, on first use,
# so the CLI, the migrations and the knowledge base's store stay quick to import.
_LAZY = {
    "DEFAULT_MODEL_ID": ".convert",
    "convert_packaged_e5": ".convert",
    "ensure_default_model": ".convert",
    "is_converted": ".convert",
    "Encoder": ".encoder",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ANCHOR_PHRASES",
    "DEFAULT_MODEL_ID",
    "E5_PREFIXES",
    "LABELS",
    "AnchorSignal",
    "BatcherClosedError",
    "Embeddings",
    "Encoder",
    "Kind",
    "KnowledgeError",
    "Label",
    "MicroBatcher",
    "ModelFormatError",
    "ModelIntegrityError",
    "SentimentHead",
    "SentimentScore",
    "SentimentScorer",
    "TextEncoder",
    "convert_packaged_e5",
    "ensure_default_model",
    "is_converted",
]
