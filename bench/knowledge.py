"""Knowledge benchmark: retrieval, the bot's threshold, sentiment, and suggestion latency at scale.

Run ``.venv/bin/python bench/knowledge.py --help``. The labelled data is ``tests/data`` (written for this
project, split into tune and test before anything was tuned): the bot's threshold is chosen on ``tune``
and every figure is reported on ``test``. Everything runs on the packaged model, on this machine's CPU.
``--scale`` adds suggestion latency with 10,000 articles and 100,000 past cases (run by hand, not in CI).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("SWITCHBOARD_MODELS", "true")

from crm_core.db import Database, open_database  # noqa: E402
from hub.kb import KnowledgeService  # noqa: E402
from hub.models import ModelService  # noqa: E402
from hub.schema import migrate_all  # noqa: E402
from hub.suggest import evidence_of  # noqa: E402
from knowledge.bot import BotPolicy, CalibrationSample, Evidence, calibrate_threshold  # noqa: E402
from knowledge.evaluate import accuracy, macro_f1, mrr, precision_recall, recall_at  # noqa: E402
from knowledge.handoff import COUNTER_EXEMPLARS, EXEMPLARS, HandoffDetector, flatten_exemplars  # noqa: E402
from knowledge.importer import load_folder  # noqa: E402

DATA = REPO_ROOT / "tests" / "data"
LANGUAGES = ("en", "he", "fa", "ar")
MAX_WRONG = 0.05


@dataclass(frozen=True)
class Question:
    id: str
    language: str
    text: str
    article: str | None
    split: str


@dataclass(frozen=True)
class Ranked:
    question: Question
    evidence: list[Evidence]
    vector: np.ndarray

    @property
    def slugs(self) -> list[str]:
        return [e.slug for e in self.evidence]

    @property
    def right(self) -> bool:
        return bool(self.evidence) and self.evidence[0].slug == self.question.article


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def questions(split: str) -> list[Question]:
    rows = [r for r in read_csv("questions.csv") if r["split"] == split]
    return [
        Question(
            r["id"],
            r["language"],
            r["question"],
            None if r["article_id"] == "none" else r["article_id"],
            split,
        )
        for r in rows
    ]


async def rank_all(kb: KnowledgeService, items: Sequence[Question]) -> list[Ranked]:
    """Each question searched as the hub searches a customer's message (its language preferred)."""
    vectors = await kb.models.encode([q.text for q in items], "query")
    ranked = []
    for question, vector in zip(items, vectors, strict=True):
        hits = await kb.search_vector(question.text, vector, prefer_language=question.language, k=5)
        ranked.append(Ranked(question, [evidence_of(h) for h in hits], vector))
    return ranked


def retrieval_table(ranked: Sequence[Ranked]) -> list[str]:
    lines = ["| language | questions | recall@1 | recall@3 | MRR |", "|---|---:|---:|---:|---:|"]
    for language in (*LANGUAGES, "all"):
        mine = [r for r in ranked if r.question.article and language in (r.question.language, "all")]
        got = {r.question.id: r.slugs for r in mine}
        want = {r.question.id: r.question.article for r in mine}
        row = f"| {language} | {len(mine)} | {recall_at(got, want, 1):.2f} | {recall_at(got, want, 3):.2f}"
        lines.append(row + f" | {mrr(got, want):.2f} |")
    return lines


async def within_language(
    kb: KnowledgeService, items: Sequence[Question], language_of: dict[str, str]
) -> list[str]:
    """Questions whose answer is written in their own language, searched among that language's articles."""
    mine = [q for q in items if q.article and language_of.get(q.article) == q.language]
    vectors = await kb.models.encode([q.text for q in mine], "query")
    got = {}
    for question, vector in zip(mine, vectors, strict=True):
        hits = await kb.search_vector(question.text, vector, language=question.language, k=5)
        got[question.id] = [h.slug for h in hits]
    lines = ["| language | questions | recall@1 | recall@3 | MRR |", "|---|---:|---:|---:|---:|"]
    for language in (*LANGUAGES, "all"):
        ids = [q.id for q in mine if language in (q.language, "all")]
        ranked = {i: got[i] for i in ids}
        want = {q.id: q.article for q in mine if q.id in ranked}
        row = (
            f"| {language} | {len(ids)} | {recall_at(ranked, want, 1):.2f} | {recall_at(ranked, want, 3):.2f}"
        )
        lines.append(row + f" | {mrr(ranked, want):.2f} |")
    return lines


def calibration_samples(ranked: Sequence[Ranked]) -> list[CalibrationSample]:
    return [
        CalibrationSample(r.evidence[0].dense if r.evidence else 0.0, r.right, r.question.article is not None)
        for r in ranked
    ]


def bot_report(tune: Sequence[Ranked], test: Sequence[Ranked], detector: HandoffDetector) -> list[str]:
    """Threshold chosen on tune (lowest with observed wrong rate under the aim), measured on test."""
    chosen = calibrate_threshold(calibration_samples(tune), MAX_WRONG)
    cautious = calibrate_threshold(calibration_samples(tune), MAX_WRONG, confidence_level=0.9)
    policy = BotPolicy(threshold=chosen.threshold)
    answered, handed, right = [], [], []
    for r in test:
        signal = detector.detect(r.question.text, r.vector)
        decision = policy.decide(r.question.text, r.evidence, signal, bot_turns_since_customer=0)
        answered.append(decision.action == "answer")
        handed.append(decision.action == "handoff")
        right.append(r.right and r.question.article is not None)
    wrong = sum(a and not ok for a, ok in zip(answered, right, strict=True))
    answer = precision_recall(answered, right)
    handoff = precision_recall(handed, [not ok for ok in right])
    return [
        f"- chosen on tune: {chosen.method}; threshold {chosen.threshold:.3f}",
        f"- for comparison, {cautious.method}",
        f"- test: answered {sum(answered)}/{len(test)}, {wrong} wrongly"
        f" ({wrong / max(sum(answered), 1):.1%} of its answers)",
        f"- answer precision {answer.precision:.2f}, recall {answer.recall:.2f}"
        " (right: the top article is the labelled one)",
        f"- handoff precision {handoff.precision:.2f}, recall {handoff.recall:.2f}"
        " (should: no right top article, or labelled none)",
    ]


async def sentiment_report(models: ModelService) -> list[str]:
    rows = [r for r in read_csv("sentiment.csv") if r["split"] == "test"]
    scores = await models.sentiment(await models.encode([r["text"] for r in rows], "query"))
    lines = ["| language | messages | accuracy | macro-F1 |", "|---|---:|---:|---:|"]
    for language in (*LANGUAGES, "all"):
        pairs = [
            (s.label, r["label"])
            for s, r in zip(scores, rows, strict=True)
            if language in (r["language"], "all")
        ]
        predicted, actual = [p for p, _ in pairs], [a for _, a in pairs]
        scored = f"{accuracy(predicted, actual):.2f} | {macro_f1(predicted, actual):.2f}"
        lines.append(f"| {language} | {len(pairs)} | {scored} |")
    return lines


def throughput(model_home: Path) -> list[str]:
    """Messages per second through encoder + sentiment head: one at a time vs batches of 32."""
    from knowledge import Encoder, SentimentScorer

    encoder = Encoder(data_dir=model_home)
    scorer = SentimentScorer.for_encoder(encoder)
    texts = [r["text"] for r in read_csv("sentiment.csv")][:128]
    encoder.encode(texts[:8])
    started = time.perf_counter()
    for text in texts:
        scorer.score(encoder.encode([text]))
    single = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, len(texts), 32):
        scorer.score(encoder.encode(texts[i : i + 32]))
    batched = len(texts) / (time.perf_counter() - started)
    return [
        f"- {len(texts)} messages: one at a time {single:.0f} msg/s, batches of 32 {batched:.0f} msg/s"
        f" ({batched / single:.1f}x)"
    ]


async def knowledge_base(db: Database, models: ModelService, fresh: bool) -> KnowledgeService:
    kb = KnowledgeService(db, models)
    if fresh:
        started = time.perf_counter()
        report = await kb.import_batch(await asyncio.to_thread(load_folder, DATA / "kb"), editor="bench")
        print(
            f"imported {len(report.created)} articles, {len(report.scripts)} scripts"
            f" ({len(kb.articles)} passages embedded) in {time.perf_counter() - started:.1f} s"
        )
    else:
        await kb.reload()
    return kb


async def quality(args: argparse.Namespace, work: Path) -> None:
    path = args.db or work / "bench.db"
    fresh = not path.exists()
    db = open_database(f"sqlite+aiosqlite:///{path}")
    await migrate_all(db.writer)
    models = ModelService(args.model_home)
    try:
        kb = await knowledge_base(db, models, fresh)
        tune, test = await rank_all(kb, questions("tune")), await rank_all(kb, questions("test"))
        batch = await asyncio.to_thread(load_folder, DATA / "kb")
        language_of = {a.slug: a.language for a in batch.articles}
        within = await within_language(kb, questions("test"), language_of)
        print("\n### Retrieval within a language (test split)\n\n" + "\n".join(within))
        print(
            "\n### Retrieval, every question, any language (test split)\n\n"
            + "\n".join(retrieval_table(test))
        )
        print("\n### Retrieval (tune split, for comparison)\n\n" + "\n".join(retrieval_table(tune)))
        detector = HandoffDetector(
            await models.encode(flatten_exemplars(EXEMPLARS)),
            await models.encode(flatten_exemplars(COUNTER_EXEMPLARS)),
        )
        print(
            "\n### Bot (threshold chosen on tune, measured on test)\n\n"
            + "\n".join(bot_report(tune, test, detector))
        )
        print("\n### Sentiment (test split)\n\n" + "\n".join(await sentiment_report(models)))
        if args.scale:
            from bench.knowledge_scale import scale

            await scale(db, kb, questions("test"))
    finally:
        await models.close()
        await db.dispose()
    print("\n### Sentiment throughput\n\n" + "\n".join(throughput(args.model_home)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrieval, bot, sentiment and suggestion-latency figures.")
    parser.add_argument(
        "--model-home", type=Path, default=REPO_ROOT / "var", help="where the model is converted"
    )
    parser.add_argument("--db", type=Path, help="SQLite file to keep the imported knowledge base in (reused)")
    parser.add_argument(
        "--scale", action="store_true", help="add 10k articles / 100k cases and time suggestions"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sb-kbench-") as work:
        asyncio.run(quality(args, Path(work)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
