"""Prometheus metrics: what the coach counts as it goes (updates, handling time, deliveries, 429s),
and what it reads from the database when scraped (outbox depth and age, open alerts and their
age, the scheduler lease). One registry per process; `/metrics` serves it (paincoach/ops.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select

from clock import Clock
from storage import alerts, outbox
from storage.database import Database
from storage.lease import current
from storage.models import Alert, OutboxMessage

REGISTRY = CollectorRegistry()
UPDATES = Counter("paincoach_updates_total", "Updates handled, by route.", ["route"], registry=REGISTRY)
UNREADABLE = Counter("paincoach_updates_unreadable_total", "Updates that could not be read.", registry=REGISTRY)
FAILED = Counter("paincoach_updates_failed_total", "Updates whose handling failed.", registry=REGISTRY)
HANDLING = Histogram(
    "paincoach_update_handling_seconds",
    "From an update being read to its tap being answered.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
DELIVERIES = Counter("paincoach_deliveries_total", "Outbox deliveries, by result.", ["result"], registry=REGISTRY)
TOO_MANY = Counter("paincoach_telegram_429_total", "429 answers from Telegram.", registry=REGISTRY)


class DatabaseCollector(Collector):
    """Gauges read when scraped: the outbox, open alerts and the scheduler lease."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock.now()
        with self.database.transaction() as session:
            yield from self._outbox(session, now)
            yield from self._alerts(session, now)
            yield from self._lease(session, now)

    def _outbox(self, session: Session, now: datetime) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("paincoach_outbox_waiting", "Messages waiting to be sent, by priority.",
                                  labels=["priority"])  # fmt: skip
        age = GaugeMetricFamily("paincoach_outbox_oldest_due_seconds", "How long the oldest due message has waited.",
                                labels=["priority"])  # fmt: skip
        rows = session.exec(
            select(OutboxMessage.priority, func.count(), func.min(OutboxMessage.not_before))
            .where(col(OutboxMessage.status).in_(outbox.WAITING))
            .group_by(col(OutboxMessage.priority))
        ).all()
        for priority, count, oldest in rows:
            depth.add_metric([str(priority)], count)
            if oldest is not None:
                age.add_metric([str(priority)], max(0.0, (now - _aware(oldest)).total_seconds()))
        yield depth
        yield age

    def _alerts(self, session: Session, now: datetime) -> Iterator[GaugeMetricFamily]:
        count, oldest = session.exec(
            select(func.count(), func.min(Alert.created_at)).where(col(Alert.acknowledged_at).is_(None))
        ).one()
        yield GaugeMetricFamily("paincoach_alerts_open", "Risk alerts nobody has acknowledged.", value=count)
        age = 0.0 if oldest is None else max(0.0, (now - _aware(oldest)).total_seconds())
        yield GaugeMetricFamily("paincoach_alerts_oldest_open_seconds", "Age of the oldest open alert.", value=age)
        yield GaugeMetricFamily(
            "paincoach_alerts_false_alarms", "Alerts closed as false alarms (to tune the phrase lists).",
            value=alerts.false_alarms(session),
        )  # fmt: skip

    def _lease(self, session: Session, now: datetime) -> Iterator[GaugeMetricFamily]:
        lease = current(session)
        left = 0.0 if lease is None else (_aware(lease.expires_at) - now).total_seconds()
        yield GaugeMetricFamily(
            "paincoach_scheduler_lease_seconds_left", "Seconds the scheduler lease has left (<= 0: nobody holds it).",
            value=left,
        )  # fmt: skip


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_watched: list[DatabaseCollector] = []


def watch(database: Database, clock: Clock) -> None:
    """Read this database's gauges when /metrics is scraped (the latest one a process opened)."""
    while _watched:
        REGISTRY.unregister(_watched.pop())
    collector = DatabaseCollector(database, clock)
    REGISTRY.register(collector)
    _watched.append(collector)
