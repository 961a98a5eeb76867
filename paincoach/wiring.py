"""The composition root: settings turned into a database, the coach's services, a Telegram
adapter, the outbox sender and the scheduler service. The only place that knows them all."""

from __future__ import annotations

from datetime import timedelta

from bot.sender import Sender
from bot.transport import TelegramApi, Transport
from clock import Clock
from coach.enrolment import Policy
from coach.services import Place, Services, build
from content.schema import Content
from dialogs.allocation import Design
from paincoach.settings import Settings
from scheduler.jobs import periodic_sweeps
from scheduler.service import SchedulerService
from storage.database import Database


def open_database(settings: Settings) -> Database:
    """The database of these settings, migrated to the newest schema."""
    database = Database(settings.database_url)
    database.upgrade()
    return database


def place_of(settings: Settings) -> Place:
    return Place(
        default_locale=settings.default_locale,
        default_timezone=settings.default_timezone,
        default_country=settings.default_country,
        staff_chat_id=settings.staff_chat_id,
        hours=settings.guide_hours,
        answer_within=timedelta(hours=settings.ticket_answer_hours),
        names_visible=settings.guide_names_visible,
        alert_repeat=timedelta(minutes=settings.alert_repeat_minutes),
        review_alert_repeat=timedelta(hours=settings.review_alert_repeat_hours),
        admin_ids=settings.admin_ids,
        enrolment=enrolment_policy(settings),
    )


def enrolment_policy(settings: Settings) -> Policy:
    return Policy(
        mode=settings.enrolment,
        screening=settings.eligibility_screening,
        programme=settings.programme_mode,
        design=Design.parse(settings.trial_ratio, settings.trial_block_sizes),
        stratify=tuple(n for n in settings.trial_stratify.split(",") if n in ("site", "phq9")),  # type: ignore[misc]
        bot_username=settings.bot_username,
    )


def make_services(settings: Settings, database: Database, content: Content, clock: Clock) -> Services:
    return build(database, content, clock, place_of(settings))


def connect(settings: Settings) -> TelegramApi:
    """The Telegram adapter: the only import of a framework, here at the edge."""
    assert settings.telegram_bot_token is not None
    from bot.aiogram import AiogramApi

    return AiogramApi.connect(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url)


def make_sender(settings: Settings, services: Services, transport: Transport, *, poll_interval: float = 1.0) -> Sender:
    return Sender(
        services.database,
        transport,
        services.clock,
        rate=settings.send_rate,
        poll_interval=poll_interval,
        on_topic_gone=services.desk.topic_gone if services.desk else None,
    )


def make_scheduler(services: Services, sender: Sender) -> SchedulerService:
    return SchedulerService(services, sender, periodic=periodic_sweeps(services))
