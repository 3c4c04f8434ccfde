"""An in-memory float32 vector index: rows grouped by owner (an article, a case), replaced per owner.

Readers never lock: every change publishes a new immutable snapshot, and rows below a snapshot's size
are never written again (new rows go past the end of the buffer, removals copy the small "alive" mask,
and a compaction or a growth builds new buffers). So ``search`` can run in any thread, for instance
through ``asyncio.to_thread`` on a large index, while another thread adds or replaces an owner's rows.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["VectorHit", "VectorIndex"]

_MIN_CAPACITY = 64


@dataclass(frozen=True, slots=True)
class VectorHit:
    """A row that matched: its owner, its own key (a passage id, say) and its cosine to the query."""

    owner: uuid.UUID
    key: uuid.UUID
    score: float


@dataclass(frozen=True, slots=True)
class _Snapshot:
    vectors: NDArray[np.float32]  # (capacity, dim); rows [:size] are in use
    owner_codes: NDArray[np.int64]
    tag_codes: NDArray[np.int32]
    alive: NDArray[np.bool_]
    keys: list[uuid.UUID]  # append-only between compactions: readers use [:size]
    size: int
    live: int
    tags: tuple[str, ...]  # tag code -> tag


def _unit_rows(vectors: ArrayLike, dim: int | None) -> NDArray[np.float32]:
    rows = np.asarray(vectors, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    if rows.ndim != 2 or (dim is not None and rows.shape[1] != dim):
        raise ValueError(f"vectors must be (n, {dim or 'dim'}), not {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: NDArray[np.float32] = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return unit


class VectorIndex:
    """Cosine top-k over rows grouped by owner; add, replace, retag and remove an owner's rows."""

    def __init__(self, dim: int | None = None) -> None:
        """An empty index; ``dim`` is taken from the first rows added when not given."""
        self._dim = dim
        self._lock = threading.Lock()  # one writer at a time; readers take the current snapshot
        self._codes: dict[uuid.UUID, int] = {}
        self._owners: list[uuid.UUID] = []  # owner code -> owner, append-only
        self._snapshot = self._empty(dim or 1)

    @classmethod
    def from_rows(
        cls,
        owners: Sequence[uuid.UUID],
        keys: Sequence[uuid.UUID],
        vectors: ArrayLike,
        tags: Sequence[str],
    ) -> VectorIndex:
        """An index of these rows, built at once (as at start-up, from stored embeddings)."""
        if not owners:
            return cls()
        rows = _unit_rows(vectors, None)
        if not len(owners) == len(keys) == len(tags) == rows.shape[0]:
            raise ValueError("owners, keys, tags and vectors differ in length")
        index = cls(rows.shape[1])
        for owner in owners:
            if owner not in index._codes:
                index._codes[owner] = len(index._owners)
                index._owners.append(owner)
        names = tuple(dict.fromkeys(tags))
        code_of = {name: n for n, name in enumerate(names)}
        index._snapshot = _Snapshot(
            vectors=rows,
            owner_codes=np.array([index._codes[o] for o in owners], dtype=np.int64),
            tag_codes=np.array([code_of[t] for t in tags], dtype=np.int32),
            alive=np.ones(rows.shape[0], np.bool_),
            keys=list(keys),
            size=rows.shape[0],
            live=rows.shape[0],
            tags=names,
        )
        return index

    @staticmethod
    def _empty(dim: int) -> _Snapshot:
        return _Snapshot(
            vectors=np.zeros((0, dim), np.float32),
            owner_codes=np.zeros(0, np.int64),
            tag_codes=np.zeros(0, np.int32),
            alive=np.zeros(0, np.bool_),
            keys=[],
            size=0,
            live=0,
            tags=(),
        )

    @property
    def dim(self) -> int | None:
        """The vectors' dimension (None while empty and never told)."""
        return self._dim

    def __len__(self) -> int:
        return self._snapshot.live

    def __contains__(self, owner: object) -> bool:
        code = self._codes.get(owner) if isinstance(owner, uuid.UUID) else None
        return code is not None and bool(self._rows_of(self._snapshot, code).size)

    @staticmethod
    def _rows_of(snap: _Snapshot, code: int) -> NDArray[np.intp]:
        n = snap.size
        return np.flatnonzero((snap.owner_codes[:n] == code) & snap.alive[:n])

    def add(self, owner: uuid.UUID, keys: Sequence[uuid.UUID], vectors: ArrayLike, tag: str = "") -> None:
        """Add rows for ``owner`` (besides any it has)."""
        self._change(owner, keys, vectors, tag, replace=False)

    def replace(self, owner: uuid.UUID, keys: Sequence[uuid.UUID], vectors: ArrayLike, tag: str = "") -> None:
        """Make ``owner``'s rows exactly these, in one step readers see whole."""
        self._change(owner, keys, vectors, tag, replace=True)

    def remove(self, owner: uuid.UUID) -> bool:
        """Drop every row of ``owner``; False when it had none."""
        with self._lock:
            snap = self._snapshot
            code = self._codes.get(owner)
            rows = self._rows_of(snap, code) if code is not None else np.zeros(0, np.intp)
            if not rows.size:
                return False
            alive = snap.alive.copy()
            alive[rows] = False
            self._publish(dataclasses.replace(snap, alive=alive, live=snap.live - rows.size))
            return True

    def retag(self, owner: uuid.UUID, tag: str) -> bool:
        """Give every row of ``owner`` a new tag (an article published or moved to another language)."""
        with self._lock:
            snap = self._snapshot
            code = self._codes.get(owner)
            rows = self._rows_of(snap, code) if code is not None else np.zeros(0, np.intp)
            if not rows.size:
                return False
            tags, tag_code = _tag_code(snap.tags, tag)
            tag_codes = snap.tag_codes.copy()
            tag_codes[rows] = tag_code
            self._publish(dataclasses.replace(snap, tag_codes=tag_codes, tags=tags))
            return True

    def _change(
        self, owner: uuid.UUID, keys: Sequence[uuid.UUID], vectors: ArrayLike, tag: str, *, replace: bool
    ) -> None:
        rows = _unit_rows(vectors, self._dim)
        if len(keys) != rows.shape[0]:
            raise ValueError(f"{len(keys)} keys for {rows.shape[0]} vectors")
        with self._lock:
            if self._dim is None:
                self._dim = rows.shape[1]
                self._snapshot = self._empty(self._dim)
            snap = self._snapshot
            code = self._codes.setdefault(owner, len(self._owners))
            if code == len(self._owners):
                self._owners.append(owner)
            alive, live = snap.alive, snap.live
            if replace:
                old = self._rows_of(snap, code)
                if old.size:
                    alive = alive.copy()
                    alive[old] = False
                    live -= old.size
            snap = dataclasses.replace(snap, alive=alive, live=live)
            self._publish(self._append(snap, code, keys, rows, tag))

    def _append(
        self, snap: _Snapshot, code: int, keys: Sequence[uuid.UUID], rows: NDArray[np.float32], tag: str
    ) -> _Snapshot:
        m = rows.shape[0]
        dead = snap.size - snap.live
        if snap.size + m > snap.vectors.shape[0] or dead > max(_MIN_CAPACITY, snap.size // 2):
            snap = _compacted(snap, extra=m)
        tags, tag_code = _tag_code(snap.tags, tag)
        end = snap.size + m
        # Past the end of every published snapshot: no reader looks at these rows yet.
        snap.vectors[snap.size : end] = rows
        snap.owner_codes[snap.size : end] = code
        snap.tag_codes[snap.size : end] = tag_code
        snap.alive[snap.size : end] = True
        del snap.keys[snap.size :]
        snap.keys.extend(keys)
        return dataclasses.replace(snap, size=end, live=snap.live + m, tags=tags)

    def _publish(self, snap: _Snapshot) -> None:
        self._snapshot = snap  # one reference assignment: readers see the old snapshot or the new one

    def search(
        self, query: ArrayLike, k: int, *, where: Callable[[str], bool] | None = None, per_owner: bool = False
    ) -> list[VectorHit]:
        """The ``k`` rows most like ``query`` (best first), only rows whose tag passes ``where``.

        With ``per_owner`` each owner appears once, by its best row.
        """
        snap = self._snapshot
        if snap.live == 0 or k < 1:
            return []
        q = _unit_rows(query, snap.vectors.shape[1])[0]
        n = snap.size
        mask = snap.alive[:n].copy()
        if where is not None:
            allowed = [code for code, tag in enumerate(snap.tags) if where(tag)]
            mask &= np.isin(snap.tag_codes[:n], allowed)
        candidates = np.flatnonzero(mask)
        if not candidates.size:
            return []
        # One contiguous product over every row is cheaper than gathering the candidate rows first.
        scores = (snap.vectors[:n] @ q)[candidates]
        best = _top(scores, k)
        if per_owner:
            best = _best_per_owner(scores, snap.owner_codes[candidates], k)
        rows = candidates[best[:k]]
        return [
            VectorHit(self._owners[int(snap.owner_codes[r])], snap.keys[int(r)], float(s))
            for r, s in zip(rows, scores[best[:k]], strict=True)
        ]

    def languages(self) -> set[str]:
        """The languages of the rows' tags (``status:language``)."""
        return {tag.partition(":")[2] for tag in self._snapshot.tags if tag}

    def best_of(self, owner: uuid.UUID, query: ArrayLike) -> VectorHit | None:
        """``owner``'s row most like ``query``, or None when it has no rows."""
        snap = self._snapshot
        code = self._codes.get(owner)
        rows = self._rows_of(snap, code) if code is not None else np.zeros(0, np.intp)
        if not rows.size:
            return None
        scores = snap.vectors[rows] @ _unit_rows(query, snap.vectors.shape[1])[0]
        best = int(np.argmax(scores))
        return VectorHit(owner, snap.keys[int(rows[best])], float(scores[best]))


def _top(scores: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """Positions of the ``k`` best scores, best first."""
    if k >= scores.size:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _best_per_owner(scores: NDArray[np.float32], owners: NDArray[np.int64], k: int) -> NDArray[np.intp]:
    """Positions of the best score of each of the ``k`` best owners, best first."""
    depth = k
    while True:
        # Owners have a few rows each: the k best owners are nearly always among the 8k best rows.
        depth = min(scores.size, depth * 8)
        best = _top(scores, depth)
        _, first = np.unique(owners[best], return_index=True)
        if first.size >= k or depth == scores.size:
            return best[np.sort(first)][:k]


def _tag_code(tags: tuple[str, ...], tag: str) -> tuple[tuple[str, ...], int]:
    if tag in tags:
        return tags, tags.index(tag)
    return (*tags, tag), len(tags)


def _compacted(snap: _Snapshot, *, extra: int) -> _Snapshot:
    """A snapshot with only live rows, in new buffers with room for ``extra`` more."""
    keep = np.flatnonzero(snap.alive[: snap.size])
    capacity = max(_MIN_CAPACITY, 2 * (keep.size + extra))
    dim = snap.vectors.shape[1]
    vectors = np.zeros((capacity, dim), np.float32)
    owner_codes = np.zeros(capacity, np.int64)
    tag_codes = np.zeros(capacity, np.int32)
    alive = np.zeros(capacity, np.bool_)
    vectors[: keep.size] = snap.vectors[keep]
    owner_codes[: keep.size] = snap.owner_codes[keep]
    tag_codes[: keep.size] = snap.tag_codes[keep]
    alive[: keep.size] = True
    keys = [snap.keys[int(i)] for i in keep]
    return _Snapshot(vectors, owner_codes, tag_codes, alive, keys, keep.size, keep.size, snap.tags)
