"""The bot's decision (answer, hand over, stay silent) and the calibration of its threshold."""

from __future__ import annotations

import json
import math

import pytest

from knowledge.bot import BotPolicy, CalibrationSample, Evidence, calibrate_threshold
from knowledge.handoff import HandoffSignal

NO_REQUEST = HandoffSignal(False, 0.0, "none", None)
ASKED = HandoffSignal(True, 1.0, "asked_for_a_person", "talk to a human")


def hit(slug: str, score: float, dense: float) -> Evidence:
    return Evidence(slug, slug.title(), "en", f"Passage of {slug}.", score, dense)


POLICY = BotPolicy(threshold=0.85)
GOOD = [hit("cancel-service", 0.9, 0.91), hit("equipment-return", 0.5, 0.84)]


def test_answers_when_confident_citing_the_top_article() -> None:
    decision = POLICY.decide("how do I cancel?", GOOD, NO_REQUEST, bot_turns_since_customer=0)
    assert (decision.action, decision.reason, decision.article) == ("answer", "confident", "cancel-service")
    assert decision.confidence == pytest.approx(0.91)
    assert decision.margin == pytest.approx(0.07)
    assert decision.evidence == GOOD[0]
    assert decision.scores == (("cancel-service", 0.9, 0.91), ("equipment-return", 0.5, 0.84))


def test_the_top_article_is_the_best_fused_score_whatever_the_input_order() -> None:
    decision = POLICY.decide("q", list(reversed(GOOD)), NO_REQUEST, bot_turns_since_customer=0)
    assert decision.article == "cancel-service"
    assert [slug for slug, _, _ in decision.scores] == ["cancel-service", "equipment-return"]


def test_hands_over_below_the_threshold() -> None:
    weak = [hit("cancel-service", 0.9, 0.84)]
    decision = POLICY.decide("q", weak, NO_REQUEST, bot_turns_since_customer=0)
    assert (decision.action, decision.reason, decision.article) == ("handoff", "low_confidence", None)
    assert decision.confidence == pytest.approx(0.84) and decision.threshold == 0.85
    assert decision.evidence is None


def test_the_threshold_itself_is_enough() -> None:
    exact = [hit("cancel-service", 0.9, 0.85)]
    assert POLICY.decide("q", exact, NO_REQUEST, bot_turns_since_customer=0).action == "answer"


def test_hands_over_without_evidence() -> None:
    decision = POLICY.decide("q", [], NO_REQUEST, bot_turns_since_customer=0)
    assert (decision.action, decision.reason, decision.confidence, decision.margin) == (
        "handoff",
        "no_evidence",
        0.0,
        None,
    )


def test_a_blank_question_is_not_answered() -> None:
    assert POLICY.decide("  ", GOOD, NO_REQUEST, bot_turns_since_customer=0).reason == "no_evidence"


def test_a_request_for_a_person_beats_a_confident_answer() -> None:
    decision = POLICY.decide("let me talk to a human", GOOD, ASKED, bot_turns_since_customer=0)
    assert (decision.action, decision.reason) == ("handoff", "customer_asked_for_a_person")
    assert decision.handoff == ASKED
    assert decision.confidence == pytest.approx(0.91)  # the scores are still recorded


def test_never_two_answers_without_a_customer_message_between() -> None:
    decision = POLICY.decide("how do I cancel?", GOOD, NO_REQUEST, bot_turns_since_customer=1)
    assert (decision.action, decision.reason) == ("silent", "already_answered")
    # Nothing new from the customer: not even a handover message.
    assert POLICY.decide("q", GOOD, ASKED, bot_turns_since_customer=1).action == "silent"


def test_a_conversation_never_gets_two_bot_answers_in_a_row() -> None:
    events = ["customer", "bot?", "bot?", "customer", "bot?", "bot?", "bot?", "customer", "customer", "bot?"]
    transcript: list[str] = []
    since_customer = 0
    for event in events:
        if event == "customer":
            transcript.append("customer")
            since_customer = 0
            continue
        decision = POLICY.decide(
            "how do I cancel?", GOOD, NO_REQUEST, bot_turns_since_customer=since_customer
        )
        if decision.action == "answer":
            transcript.append("bot")
            since_customer += 1
    assert "bot bot" not in " ".join(transcript)
    assert transcript.count("bot") == 3


def test_margin_hands_over_when_two_articles_are_too_close() -> None:
    policy = BotPolicy(threshold=0.8, margin=0.02)
    close = [hit("cancel-service", 0.9, 0.90), hit("cooling-off", 0.8, 0.89)]
    decision = policy.decide("q", close, NO_REQUEST, bot_turns_since_customer=0)
    assert (decision.action, decision.reason) == ("handoff", "ambiguous")
    assert decision.margin == pytest.approx(0.01)


def test_margin_ignores_other_passages_of_the_same_article() -> None:
    policy = BotPolicy(threshold=0.8, margin=0.02)
    same = [hit("cancel-service", 0.9, 0.90), hit("cancel-service", 0.8, 0.895), hit("other", 0.2, 0.7)]
    decision = policy.decide("q", same, NO_REQUEST, bot_turns_since_customer=0)
    assert decision.action == "answer" and decision.margin == pytest.approx(0.2)


def test_margin_zero_never_blocks() -> None:
    tie = [hit("a", 0.9, 0.9), hit("b", 0.8, 0.9)]
    assert POLICY.decide("q", tie, NO_REQUEST, bot_turns_since_customer=0).action == "answer"


def test_record_is_plain_json() -> None:
    decision = POLICY.decide("q", GOOD, ASKED, bot_turns_since_customer=0)
    record = json.loads(json.dumps(decision.as_record()))
    assert record["action"] == "handoff" and record["reason"] == "customer_asked_for_a_person"
    assert record["handoff"] == {
        "requested": True,
        "score": 1.0,
        "reason": "asked_for_a_person",
        "matched": "talk to a human",
    }
    assert record["scores"][0] == {"article": "cancel-service", "score": 0.9, "dense": 0.91}
    assert record["threshold"] == 0.85 and record["confidence"] == 0.91


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": math.nan},
        {"threshold": 0.8, "margin": -0.1},
        {"threshold": 0.8, "max_consecutive_answers": 0},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BotPolicy(**kwargs)  # type: ignore[arg-type]


# -- calibration ---------------------------------------------------------------------------------------

# Hand-worked: answering at >= t gives, from the top, wrong/answered = 0/1, 0/2, 1/3, 1/4, 2/5.
SAMPLES = [
    (0.90, True, True),
    (0.85, True, True),
    (0.80, False, True),
    (0.75, True, True),
    (0.70, False, False),
]


def test_calibration_picks_the_lowest_threshold_under_the_target() -> None:
    result = calibrate_threshold(SAMPLES, max_wrong_rate=0.25)
    assert result.threshold == 0.75
    assert (result.answered, result.wrong, result.total) == (4, 1, 5)
    assert result.answer_rate == pytest.approx(0.8) and result.wrong_rate == pytest.approx(0.25)
    assert result.coverage == pytest.approx(3 / 4)  # answerable questions answered right
    assert "lowest of 5 candidate thresholds" in result.method and "1/4" in result.method


def test_a_stricter_target_gives_a_higher_threshold() -> None:
    result = calibrate_threshold(SAMPLES, max_wrong_rate=0.05)
    assert result.threshold == 0.85 and (result.answered, result.wrong) == (2, 0)


def test_a_question_labelled_none_is_wrong_to_answer_even_if_flagged_correct() -> None:
    result = calibrate_threshold([(0.9, True, False), (0.8, True, True)], max_wrong_rate=0.0)
    assert result.answered == 0 and result.threshold > 0.9


def test_when_nothing_meets_the_target_the_bot_never_answers() -> None:
    result = calibrate_threshold(
        [CalibrationSample(0.95, False, True), CalibrationSample(0.6, True, True)], 0.1
    )
    assert result.threshold > 0.95 and result.answer_rate == 0.0
    assert "never answer" in result.method
    assert (
        BotPolicy(result.threshold)
        .decide("q", [hit("a", 1.0, 0.95)], NO_REQUEST, bot_turns_since_customer=0)
        .action
        == "handoff"
    )


def test_tied_confidences_are_one_candidate() -> None:
    # A threshold of 0.8 answers all three 0.8 samples at once: 2/4 wrong fails a 40% target, though the
    # first of them alone (0/2) or two of them (1/3) would pass. So 0.9 it is.
    samples = [(0.9, True, True), (0.8, True, True), (0.8, False, True), (0.8, False, True)]
    result = calibrate_threshold(samples, max_wrong_rate=0.4)
    assert result.threshold == 0.9 and result.answered == 1


def test_exactly_at_the_target_passes() -> None:
    samples = [(1.0 - i / 100, i != 10, True) for i in range(20)]  # one wrong in twenty: 5%
    assert calibrate_threshold(samples, max_wrong_rate=0.05).answered == 20


def test_calibration_input_errors() -> None:
    with pytest.raises(ValueError):
        calibrate_threshold([])
    with pytest.raises(ValueError):
        calibrate_threshold(SAMPLES, max_wrong_rate=1.5)


def test_an_upper_confidence_bound_is_stricter_than_the_observed_rate() -> None:
    samples = [(1.0 - i / 100, True, True) for i in range(40)] + [(0.5, False, True)]
    observed = calibrate_threshold(samples, max_wrong_rate=0.05)
    assert (observed.threshold, observed.answered) == (0.5, 41)  # 1/41 = 2.4%
    # Wilson at 90%: 1/41 bounds at 7.8%, 0/40 at 3.9% (0/k passes from k = 32 on).
    bounded = calibrate_threshold(samples, max_wrong_rate=0.05, confidence_level=0.9)
    assert (bounded.threshold, bounded.answered, bounded.wrong) == (pytest.approx(0.61), 40, 0)
    assert "90% upper bound" in bounded.method
    few = calibrate_threshold(samples[:10], max_wrong_rate=0.05, confidence_level=0.9)
    assert few.answered == 0  # ten right answers cannot show a 5% wrong rate at 90%
    with pytest.raises(ValueError):
        calibrate_threshold(samples, confidence_level=1.0)
