"""The bot's decision: answer from the best article, hand over to a person, or stay silent; and its threshold.

The bot answers only when retrieval is confident (the dense cosine of the top article's best passage reaches
a threshold calibrated on the tune split), cites that article, and never answers twice in a row without a
customer message between. Otherwise, or when the customer asks for a person, it hands over with its reason
and every score, so the conversation records why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal, NamedTuple

from .handoff import HandoffSignal

__all__ = [
    "BotAction",
    "BotDecision",
    "BotPolicy",
    "BotReason",
    "Calibration",
    "CalibrationSample",
    "Evidence",
    "calibrate_threshold",
]

BotAction = Literal["answer", "handoff", "silent"]
BotReason = Literal[
    "confident",
    "customer_asked_for_a_person",
    "already_answered",
    "no_evidence",
    "low_confidence",
    "ambiguous",
]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One retrieved article as the bot and the reply drafter see it: its best passage and scores."""

    slug: str
    title: str
    language: str
    passage: str  # the passage of the article that matched best
    score: float  # the fused ranking score
    dense: float  # cosine of the query to that passage's embedding
    short: str | None = None  # the article's SMS-sized variant, when it has one


@dataclass(frozen=True, slots=True)
class BotDecision:
    """What the bot does with one customer message, why, and every score it looked at."""

    action: BotAction
    reason: BotReason
    article: str | None  # the slug the answer cites (only for "answer")
    confidence: float  # the top evidence's dense cosine; 0.0 without evidence
    threshold: float
    margin: float | None  # top dense minus the best other article's dense; None with fewer than two
    handoff: HandoffSignal
    scores: tuple[tuple[str, float, float], ...] = field(default=())  # (slug, fused score, dense), ranked
    evidence: Evidence | None = None  # the cited evidence (only for "answer")

    def as_record(self) -> dict[str, Any]:
        """Plain JSON-ready values, for writing onto the conversation next to the bot turn or handover."""
        return {
            "action": self.action,
            "reason": self.reason,
            "article": self.article,
            "confidence": round(self.confidence, 4),
            "threshold": self.threshold,
            "margin": None if self.margin is None else round(self.margin, 4),
            "handoff": {
                "requested": self.handoff.requested,
                "score": round(self.handoff.score, 4),
                "reason": self.handoff.reason,
                "matched": self.handoff.matched,
            },
            "scores": [
                {"article": slug, "score": round(score, 4), "dense": round(dense, 4)}
                for slug, score, dense in self.scores
            ],
        }


@dataclass(frozen=True, slots=True)
class BotPolicy:
    """When the bot answers: confidence at or above ``threshold``, ahead of the runner-up by ``margin``."""

    threshold: float
    margin: float = 0.0
    max_consecutive_answers: int = 1

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold) or self.margin < 0 or self.max_consecutive_answers < 1:
            raise ValueError("threshold must be finite, margin >= 0 and max_consecutive_answers >= 1")

    def decide(
        self,
        question: str,
        evidence: Sequence[Evidence],
        handoff: HandoffSignal,
        *,
        bot_turns_since_customer: int,
    ) -> BotDecision:
        """Answer, hand over or stay silent for ``question``, given what retrieval found for it."""
        ranked = sorted(evidence, key=lambda e: e.score, reverse=True)  # stable: ties keep their order
        top = ranked[0] if ranked else None
        margin = _margin(ranked)

        def decision(action: BotAction, reason: BotReason) -> BotDecision:
            cited = top if action == "answer" else None
            return BotDecision(
                action=action,
                reason=reason,
                article=cited.slug if cited else None,
                confidence=top.dense if top else 0.0,
                threshold=self.threshold,
                margin=margin,
                handoff=handoff,
                scores=tuple((e.slug, e.score, e.dense) for e in ranked),
                evidence=cited,
            )

        # The turn limit comes first: with no customer message since the bot's answer there is nothing new
        # to answer, and a second bot message in a row is what the issue forbids.
        if bot_turns_since_customer >= self.max_consecutive_answers:
            return decision("silent", "already_answered")
        if handoff.requested:
            return decision("handoff", "customer_asked_for_a_person")
        if top is None or not question.strip():
            return decision("handoff", "no_evidence")
        if top.dense < self.threshold:
            return decision("handoff", "low_confidence")
        if margin is not None and margin < self.margin:
            return decision("handoff", "ambiguous")
        return decision("answer", "confident")


def _margin(ranked: Sequence[Evidence]) -> float | None:
    """Top dense minus the best dense of another article (a second passage of the same one is no rival)."""
    if not ranked:
        return None
    rivals = [e.dense for e in ranked[1:] if e.slug != ranked[0].slug]
    return ranked[0].dense - max(rivals) if rivals else None


class CalibrationSample(NamedTuple):
    """One tune-split question: the bot's confidence, whether its top article is the labelled one."""

    confidence: float
    top_is_correct: bool
    answerable: bool  # False for questions labelled "none": any answer to them is wrong


@dataclass(frozen=True, slots=True)
class Calibration:
    """The chosen threshold and what it does on the samples it was chosen from."""

    threshold: float
    answer_rate: float  # answered / total
    wrong_rate: float  # wrong / answered (0.0 when nothing is answered)
    answered: int
    wrong: int
    total: int
    coverage: float  # answerable questions answered correctly / answerable questions
    max_wrong_rate: float
    method: str  # how it was chosen, in words, for the bench report and the settings docs


def calibrate_threshold(
    samples: Iterable[CalibrationSample | tuple[float, bool, bool]],
    max_wrong_rate: float = 0.05,
    *,
    confidence_level: float | None = None,
) -> Calibration:
    """The lowest threshold whose wrong-answer rate among answered samples is at most ``max_wrong_rate``.

    Candidates are the samples' own confidences (answer when confidence >= threshold). An answer is wrong
    when the top article is not the labelled one or the question is labelled none. With
    ``confidence_level`` (say 0.9) the rate compared is the Wilson upper bound of the wrong rate at that
    level rather than the observed one: on a tune split of a hundred questions the observed rate of the
    lowest passing threshold is optimistic. If no candidate meets the target, the threshold sits just above
    the highest confidence: the bot never answers.
    """
    rows = [CalibrationSample(float(c), bool(ok), bool(a)) for c, ok, a in samples]
    if not rows:
        raise ValueError("calibration needs at least one sample")
    if not 0.0 <= max_wrong_rate <= 1.0:
        raise ValueError("max_wrong_rate must be between 0 and 1")
    if confidence_level is not None and not 0.5 <= confidence_level < 1.0:
        raise ValueError("confidence_level must be in [0.5, 1)")
    z = 0.0 if confidence_level is None else NormalDist().inv_cdf(confidence_level)
    ordered = sorted(rows, key=lambda r: r.confidence, reverse=True)
    best = _lowest_passing(ordered, max_wrong_rate, z)
    rate = (
        "wrong answers / answered"
        if z == 0
        else f"the {confidence_level:.0%} upper bound of wrong / answered"
    )
    answerable = sum(r.answerable for r in rows)
    if best is None:
        return Calibration(
            threshold=math.nextafter(ordered[0].confidence, math.inf),
            answer_rate=0.0,
            wrong_rate=0.0,
            answered=0,
            wrong=0,
            total=len(rows),
            coverage=0.0,
            max_wrong_rate=max_wrong_rate,
            method=f"no threshold kept {rate} at or under {max_wrong_rate:.1%}: never answer",
        )
    threshold, answered, wrong = best
    right = sum(r.top_is_correct and r.answerable for r in ordered[:answered])
    return Calibration(
        threshold=threshold,
        answer_rate=answered / len(rows),
        wrong_rate=wrong / answered,
        answered=answered,
        wrong=wrong,
        total=len(rows),
        coverage=right / answerable if answerable else 0.0,
        max_wrong_rate=max_wrong_rate,
        method=(
            f"lowest of {len({r.confidence for r in rows})} candidate thresholds (the samples' confidences)"
            f" with {rate} <= {max_wrong_rate:.1%}: {wrong}/{answered} wrong"
        ),
    )


def _wilson_upper(wrong: int, answered: int, z: float) -> float:
    """The Wilson score upper bound of a rate of ``wrong`` in ``answered`` (the observed rate for z = 0)."""
    rate = wrong / answered
    if z == 0:
        return rate
    spread = z * math.sqrt(rate * (1 - rate) / answered + z * z / (4 * answered * answered))
    return (rate + z * z / (2 * answered) + spread) / (1 + z * z / answered)


def _lowest_passing(
    ordered: Sequence[CalibrationSample], max_wrong_rate: float, z: float
) -> tuple[float, int, int] | None:
    """(threshold, answered, wrong) for the lowest passing candidate, over samples by falling confidence."""
    wrong = 0
    best: tuple[float, int, int] | None = None
    # Each distinct confidence is a candidate that answers every sample at or above it; walking down, the
    # last candidate that meets the target is the lowest one. The epsilon keeps 1/20 at 5% passing.
    for answered, row in enumerate(ordered, start=1):
        wrong += not (row.top_is_correct and row.answerable)
        last_of_value = answered == len(ordered) or ordered[answered].confidence < row.confidence
        if last_of_value and _wilson_upper(wrong, answered, z) <= max_wrong_rate + 1e-9:
            best = (row.confidence, answered, wrong)
    return best
