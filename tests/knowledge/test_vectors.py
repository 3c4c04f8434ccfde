"""The in-memory vector index: rows per owner, replaced whole, searched by cosine while a writer updates."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from knowledge.vectors import VectorIndex

DIM = 8


def _unit(*hot: int) -> np.ndarray:
    row = np.zeros(DIM, np.float32)
    row[list(hot)] = 1.0
    return row / np.linalg.norm(row)


def _ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def test_search_ranks_rows_by_cosine_and_names_owner_and_key() -> None:
    index = VectorIndex()
    a, b = uuid.uuid4(), uuid.uuid4()
    ka, kb = _ids(2), _ids(1)
    index.add(a, ka, np.stack([_unit(0), _unit(1)]))
    index.add(b, kb, np.stack([_unit(0, 1)]))
    hits = index.search(_unit(0), 3)
    assert [(h.owner, h.key) for h in hits] == [(a, ka[0]), (b, kb[0]), (a, ka[1])]
    assert hits[0].score == pytest.approx(1.0)
    assert hits[1].score == pytest.approx(1 / np.sqrt(2))
    assert index.dim == DIM and len(index) == 3


def test_vectors_are_normalised_on_the_way_in() -> None:
    index = VectorIndex()
    owner = uuid.uuid4()
    index.add(owner, _ids(1), np.full((1, DIM), 7.0))
    assert index.search(np.ones(DIM) * 0.1, 1)[0].score == pytest.approx(1.0)


def test_per_owner_keeps_each_owners_best_row_only() -> None:
    index = VectorIndex()
    a, b = uuid.uuid4(), uuid.uuid4()
    index.add(a, _ids(3), np.stack([_unit(0), _unit(0, 1), _unit(0, 2)]))
    index.add(b, _ids(1), np.stack([_unit(0, 1, 2)]))
    hits = index.search(_unit(0), 5, per_owner=True)
    assert [h.owner for h in hits] == [a, b]


def test_per_owner_looks_deeper_when_one_owner_fills_the_top_rows() -> None:
    index = VectorIndex()
    crowd, other = uuid.uuid4(), uuid.uuid4()
    index.add(crowd, _ids(40), np.stack([_unit(0)] * 40))
    index.add(other, _ids(1), np.stack([_unit(0, 1)]))
    assert [h.owner for h in index.search(_unit(0), 2, per_owner=True)] == [crowd, other]


def test_replace_swaps_an_owners_rows_and_leaves_the_others() -> None:
    index = VectorIndex()
    a, b = uuid.uuid4(), uuid.uuid4()
    kb = _ids(1)
    index.add(a, _ids(2), np.stack([_unit(0), _unit(1)]))
    index.add(b, kb, np.stack([_unit(2)]))
    new_keys = _ids(1)
    index.replace(a, new_keys, np.stack([_unit(3)]))
    assert len(index) == 2
    assert [h.key for h in index.search(_unit(3), 5) if h.owner == a] == new_keys
    assert index.search(_unit(2), 1)[0].key == kb[0]
    assert index.search(_unit(0), 5, where=None)[0].score < 0.5  # the old rows are gone


def test_remove_and_contains() -> None:
    index = VectorIndex()
    a = uuid.uuid4()
    index.add(a, _ids(2), np.stack([_unit(0), _unit(1)]))
    assert a in index
    assert index.remove(a) is True
    assert a not in index and len(index) == 0
    assert index.search(_unit(0), 3) == []
    assert index.remove(a) is False


def test_tags_filter_a_search_and_retag_moves_an_owner() -> None:
    index = VectorIndex()
    a, b = uuid.uuid4(), uuid.uuid4()
    index.add(a, _ids(1), np.stack([_unit(0)]), tag="draft:en")
    index.add(b, _ids(1), np.stack([_unit(0, 1)]), tag="published:en")
    assert [h.owner for h in index.search(_unit(0), 5, where=lambda t: t.startswith("published"))] == [b]
    assert index.retag(a, "published:en") is True
    assert [h.owner for h in index.search(_unit(0), 5, where=lambda t: t.startswith("published"))] == [a, b]
    assert index.retag(uuid.uuid4(), "x") is False


def test_best_of_scores_one_owners_rows() -> None:
    index = VectorIndex()
    a, b = uuid.uuid4(), uuid.uuid4()
    ka = _ids(2)
    index.add(a, ka, np.stack([_unit(1), _unit(2)]))
    index.add(b, _ids(1), np.stack([_unit(0)]))
    best = index.best_of(a, _unit(0, 2))
    assert best is not None and best.key == ka[1] and best.score == pytest.approx(1 / np.sqrt(2))
    assert index.best_of(uuid.uuid4(), _unit(0)) is None


def test_many_replacements_compact_and_keep_answers_right() -> None:
    index = VectorIndex()
    owners = _ids(20)
    for n, owner in enumerate(owners):
        index.add(owner, [owner], np.stack([_unit(n % DIM)]))
    for _ in range(30):  # far more dead rows than live ones: compaction must run, answers stay the same
        for n, owner in enumerate(owners):
            index.replace(owner, [owner], np.stack([_unit(n % DIM)]))
    assert len(index) == 20
    assert index._snapshot.size < 200  # compacted, not 620 rows
    assert {h.owner for h in index.search(_unit(3), 20) if h.score > 0.99} == {
        o for n, o in enumerate(owners) if n % DIM == 3
    }


def test_from_rows_builds_the_same_index_as_adding() -> None:
    owners = [uuid.uuid4(), uuid.uuid4()]
    keys = _ids(3)
    vectors = np.stack([_unit(0), _unit(1), _unit(2)])
    index = VectorIndex.from_rows([owners[0], owners[0], owners[1]], keys, vectors, ["x", "x", "y"])
    assert len(index) == 3
    assert [h.key for h in index.search(_unit(2), 1, where=lambda t: t == "y")] == [keys[2]]
    index.replace(owners[0], keys[:1], np.stack([_unit(3)]), "x")
    assert len(index) == 2


def test_from_no_rows_is_an_empty_index() -> None:
    index = VectorIndex.from_rows([], [], np.zeros((0, DIM)), [])
    assert len(index) == 0 and index.search(_unit(0), 3) == []


def test_mismatched_shapes_are_refused() -> None:
    index = VectorIndex(DIM)
    with pytest.raises(ValueError, match="keys"):
        index.add(uuid.uuid4(), _ids(2), np.stack([_unit(0)]))
    with pytest.raises(ValueError, match="vectors must be"):
        index.add(uuid.uuid4(), _ids(1), np.ones((1, DIM + 1)))


def test_readers_see_an_owners_rows_all_old_or_all_new_while_a_writer_replaces_them() -> None:
    index = VectorIndex()
    owner = uuid.uuid4()
    old, new = _ids(4), _ids(4)
    rows = np.stack([_unit(0)] * 4)
    index.add(owner, old, rows)
    for _ in range(50):
        index.add(uuid.uuid4(), _ids(3), np.stack([_unit(5)] * 3))
    stop = threading.Event()
    seen: list[frozenset[uuid.UUID]] = []

    def write() -> None:
        keys = [old, new]
        for n in range(400):
            index.replace(owner, keys[n % 2], rows)
        stop.set()

    def read() -> None:
        while not stop.is_set():
            seen.append(frozenset(h.key for h in index.search(_unit(0), 10) if h.owner == owner))

    readers = [threading.Thread(target=read) for _ in range(3)]
    writer = threading.Thread(target=write)
    for thread in [*readers, writer]:
        thread.start()
    for thread in [writer, *readers]:
        thread.join(timeout=30)
    assert seen
    assert set(seen) <= {frozenset(old), frozenset(new)}
