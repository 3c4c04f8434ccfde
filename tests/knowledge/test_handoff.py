"""Handoff detection: the phrase lexicon (fast) and, with the real encoder, the exemplar signal (slow).

The fast tests' sentences were written for these tests, apart from ``tests/data``; the data files are read
as a check (``handoff_requests.csv``, ``not_handoff.csv``; they have no tune split).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from knowledge.encoder import Encoder
from knowledge.evaluate import precision_recall
from knowledge.handoff import COUNTER_EXEMPLARS, EXEMPLARS, HandoffDetector, flatten_exemplars, normalise

DATA = Path(__file__).resolve().parents[1] / "data"
REQUESTS_CSV = DATA / "handoff_requests.csv"
NOT_HANDOFF_CSV = DATA / "not_handoff.csv"

REQUESTS = [
    "I want to talk to a human",
    "agent please",
    "HUMAN!!",
    "Can I speak with someone from billing?",
    "put me through to an operator",
    "thanks, but I'd like a real person",
    "representative",
    "let me talk to your manager",
    "i need an agent asap",
    "is there a real person there?",
    "אני רוצה נציג",
    "נציג בבקשה",
    "תעבירו אותי לנציג אנושי",
    "אפשר לדבר עם בן אדם?",
    "אני צריך לדבר עם מישהו",
    "יש פה מישהו אמיתי?",
    "می‌خواهم با اپراتور صحبت کنم",
    "میخوام با یه آدم حرف بزنم",
    "اپراتور",
    "لطفا وصلم کنید به کارشناس",
    "یک کارشناس می‌خواهم",
    "ye karshenas mikham lotfan",
    "أريد التحدث مع موظف",
    "حولني لخدمة العملاء",
    "بدي احكي مع حدا",
    "موظف من فضلك",
    "عايز أكلم حد",
    "أبغى أكلم موظف",
]
BOT_REFUSALS = ["I don't want to talk to a bot", "די עם הבוט", "ربات نمیخوام", "لا أريد التحدث مع روبوت"]
NOT_REQUESTS = [
    "your agent was very helpful",
    "הנציג עזר לי מאוד",
    "I spoke to an agent yesterday and it's fixed",
    "I need someone to fix my router",
    "I want to thank the agent who helped me",
    "I don't need to talk to anyone, just tell me the price",
    "how do I pay my bill?",
    "my internet is not working on my computer",
    "אני רוצה להודות לנציגה",
    "כבר דיברתי עם נציג אתמול",
    "המחשב לא מתחבר לאינטרנט",
    "کارشناس شما خیلی خوب بود، ممنون",
    "اپراتور گفت پول برمی‌گردد",
    "الموظف كان لطيفا جدا",
    "شكرا للموظف على المساعدة",
    "الفني ما إجا وولا حدا اتصل",
    "can the agent see my account?",
    "I would like to change my plan",
]
MIXED = ["بدي נציג لو سمحت", "I want to talk to a נציג", "אפשר agent בבקשה", "ممكن أحكي مع נציג?"]


@pytest.mark.parametrize("text", REQUESTS)
def test_requests_for_a_person(text: str) -> None:
    signal = HandoffDetector().detect(text)
    assert signal.requested, signal
    assert (signal.reason, signal.score) == ("asked_for_a_person", 1.0)
    assert signal.matched


@pytest.mark.parametrize("text", BOT_REFUSALS)
def test_refusing_the_bot_is_a_request(text: str) -> None:
    signal = HandoffDetector().detect(text)
    assert (signal.requested, signal.reason) == (True, "refused_the_bot")


@pytest.mark.parametrize("text", NOT_REQUESTS)
def test_mentions_of_people_that_ask_for_nobody(text: str) -> None:
    assert not HandoffDetector().detect(text).requested


@pytest.mark.parametrize("text", MIXED)
def test_mixed_language_requests(text: str) -> None:
    assert HandoffDetector().detect(text).requested


def test_thanks_or_negation_in_the_same_clause_declines() -> None:
    signal = HandoffDetector().detect("no need to transfer me to an agent")
    assert (signal.requested, signal.reason) == (False, "declined")
    # ... but only in its own clause.
    assert HandoffDetector().detect("thanks for trying. Now get me a human").requested


def test_every_exemplar_reads_as_a_request_and_no_counter_exemplar_does() -> None:
    detector = HandoffDetector()
    assert all(detector.detect(text).requested for text in flatten_exemplars(EXEMPLARS))
    assert not any(detector.detect(text).requested for text in flatten_exemplars(COUNTER_EXEMPLARS))


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("AGENT!!  please…", "agent please"),
        ("נָצִיג", "נציג"),  # niqqud
        ("مُوَظَّف", "موظف"),  # harakat
        ("أريد إنسان آلة", "ارید انسان اله"),  # hamza and madda carriers, teh marbuta
        ("كارشناس يك", "کارشناس یک"),  # Arabic kaf and yeh as Persian keheh and yeh
        ("می‌خواهم", "می خواهم"),  # ZWNJ
        ("Crème", "creme"),
    ],
)
def test_normalise(raw: str, folded: str) -> None:
    assert normalise(raw) == folded


def test_diacritics_and_letter_variants_do_not_hide_a_request() -> None:
    detector = HandoffDetector()
    assert detector.detect("أُرِيدُ التَّحَدُّثَ مَعَ مُوَظَّفٍ").requested
    assert detector.detect("ميخواهم با كارشناس صحبت كنم").requested  # Persian typed on an Arabic keyboard
    assert detector.detect("אֲנִי רוֹצֶה נְצִיג").requested


# -- the similarity signal, with hand-made vectors (this tests the machinery, not a model) ----------


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _detector(**kwargs: float) -> HandoffDetector:
    exemplars = np.stack([_unit(1, 0, 0, 0), _unit(0, 1, 0, 0)])
    counters = np.stack([_unit(0, 0, 1, 0)])
    return HandoffDetector(
        exemplars,
        counters,
        exemplars={"en": ("request a", "request b")},
        counter_exemplars={"en": ("ordinary c",)},
        **kwargs,
    )


def test_similar_to_a_request_exemplar() -> None:
    signal = _detector(min_similarity=0.9, margin=0.05).detect("zzz", _unit(0.05, 1, 0, 0))
    assert (signal.requested, signal.reason, signal.matched) == (True, "similar_to_a_request", "request b")
    assert signal.score == pytest.approx(float(_unit(0.05, 1, 0, 0)[1]))


def test_similarity_below_the_minimum_is_no_request() -> None:
    signal = _detector(min_similarity=0.9).detect("zzz", _unit(1, 0, 0, 1))
    assert (signal.requested, signal.reason) == (False, "none")
    assert signal.score == pytest.approx(0.7071, abs=1e-3)


def test_as_close_to_a_counter_exemplar_is_no_request() -> None:
    vector = _unit(1, 0, 0.9, 0)  # cos 0.74 to "request a", 0.67 to the counter
    assert _detector(min_similarity=0.7, margin=0.1).detect("zzz", vector).requested is False
    assert _detector(min_similarity=0.7, margin=0.05).detect("zzz", vector).requested is True


def test_thanks_veto_the_similarity_signal() -> None:
    signal = _detector(min_similarity=0.5).detect("thanks a lot", _unit(1, 0, 0, 0))
    assert (signal.requested, signal.reason) == (False, "declined")


def test_phrases_decide_without_an_embedding_and_before_it() -> None:
    assert _detector().detect("agent please", _unit(0, 0, 1, 0)).requested
    assert HandoffDetector().detect("zzz", _unit(1, 0, 0, 0)).reason == "none"  # no exemplar rows given


def test_similarity_alone_needs_exemplar_rows() -> None:
    with pytest.raises(ValueError):
        HandoffDetector().by_similarity(_unit(1, 0, 0, 0))


def test_embedding_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        HandoffDetector(np.zeros((3, 4)), exemplars={"en": ("a", "b")})
    with pytest.raises(ValueError):
        HandoffDetector(None, np.zeros((1, 4)), counter_exemplars={"en": ("c",)})
    with pytest.raises(ValueError):
        _detector().detect("zzz", np.ones(5, dtype=np.float32))


# -- the data files ------------------------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


needs_data = pytest.mark.skipif(
    not (REQUESTS_CSV.is_file() and NOT_HANDOFF_CSV.is_file()), reason="handoff data files are not there"
)


def _report(name: str, requests: list[bool], others: list[bool]) -> tuple[float, float]:
    result = precision_recall(requests + others, [True] * len(requests) + [False] * len(others))
    print(
        f"\nhandoff {name}: precision {result.precision:.3f} recall {result.recall:.3f}"
        f" (tp {result.tp}, fp {result.fp}, fn {result.fn}, tn {result.tn})"
    )
    return result.precision, result.recall


@needs_data
def test_phrases_on_the_data_files() -> None:
    detector = HandoffDetector()
    requests = [detector.detect(r["text"]).requested for r in _rows(REQUESTS_CSV)]
    others = [detector.detect(r["text"]).requested for r in _rows(NOT_HANDOFF_CSV)]
    precision, recall = _report("phrases", requests, others)
    assert precision >= 0.95 and recall >= 0.9


@pytest.mark.skipif(not (DATA / "questions.csv").is_file(), reason="questions.csv is not there")
def test_ordinary_questions_are_not_requests() -> None:
    requests = {r["text"] for r in _rows(REQUESTS_CSV)} if REQUESTS_CSV.is_file() else set()
    detector = HandoffDetector()
    questions = [r["question"] for r in _rows(DATA / "questions.csv") if r["question"] not in requests]
    flagged = [q for q in questions if detector.detect(q).requested]
    assert len(flagged) <= len(questions) // 50, flagged


@pytest.mark.slow
@needs_data
def test_phrases_and_exemplars_with_the_real_encoder_on_the_data_files(e5: Encoder) -> None:
    detector = HandoffDetector(
        e5.encode(flatten_exemplars(EXEMPLARS)), e5.encode(flatten_exemplars(COUNTER_EXEMPLARS))
    )
    request_rows, other_rows = _rows(REQUESTS_CSV), _rows(NOT_HANDOFF_CSV)
    request_vectors = e5.encode([r["text"] for r in request_rows])
    other_vectors = e5.encode([r["text"] for r in other_rows])
    requests = [
        detector.detect(r["text"], v).requested for r, v in zip(request_rows, request_vectors, strict=True)
    ]
    others = [detector.detect(r["text"], v).requested for r, v in zip(other_rows, other_vectors, strict=True)]
    precision, recall = _report("phrases + e5 exemplars", requests, others)
    assert precision >= 0.95 and recall >= 0.9
    # The similarity signal on its own (phrases out of the way) is a weak second opinion: report it only.
    similar = [detector.by_similarity(v).requested for v in request_vectors]
    similar_others = [detector.by_similarity(v).requested for v in other_vectors]
    _report("e5 exemplars alone", similar, similar_others)
