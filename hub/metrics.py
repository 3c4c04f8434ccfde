"""Prometheus metrics of the hub (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """The hub's metrics, on a registry of their own so that several apps can live in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ingested = Counter(
            "switchboard_ingested_messages",
            "Inbound messages handled, by channel and outcome (stored, duplicate, failed).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "switchboard_ingest_batch_size",
            "Messages committed per transaction by the writer.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "switchboard_ingest_commit_seconds",
            "Time to store one batch, from first statement to commit.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.webhook_rejected = Counter(
            "switchboard_webhook_rejected",
            "Webhook requests refused, by channel and reason.",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.replies = Counter(
            "switchboard_outbox_replies",
            "Replies the outbox handled, by channel and outcome (sent, retry, dead).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.media = Counter(
            "switchboard_media_downloads",
            "Inbound attachments downloaded into storage, by channel and outcome (stored, failed).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.encoder_backlog = Gauge(
            "switchboard_encoder_backlog",
            "Texts waiting for the language model (sentiment, retrieval): grows when arrivals outrun it.",
            registry=self.registry,
        )
        self.events_relayed = Counter(
            "switchboard_events_relayed",
            "Outbox events published to the bus.",
            registry=self.registry,
        )
