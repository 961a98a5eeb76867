"""All of the coach's services for one database and one course, wired together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from clock import Clock
from clock.office_hours import OfficeHours, parse_office_hours
from coach.alerts import Alerts
from coach.broadcasts import BroadcastDesk
from coach.desk import GuideDesk
from coach.effects import Effects
from coach.enrolment import Enrolment, Policy
from coach.inbox import Inbox
from coach.patients import Coach
from coach.staff_commands import StaffCommands
from content.schema import Content
from storage.database import Database
from storage.patients import Defaults


@dataclass(frozen=True)
class Place:
    """Where the clinic is: its defaults for new patients, its staff chat and its working hours."""

    default_locale: str = "en"
    default_timezone: str = "UTC"
    default_country: str = "other"
    staff_chat_id: int | None = None
    hours: OfficeHours | None = None
    answer_within: timedelta = timedelta(hours=8)
    names_visible: bool = False
    alert_repeat: timedelta = timedelta(minutes=15)
    review_alert_repeat: timedelta | None = None
    admin_ids: tuple[int, ...] = ()  # ADMIN_IDS: made admins at every start, and kept so
    enrolment: Policy = field(default_factory=Policy)  # ENROLMENT, PROGRAMME_MODE, the trial's design


@dataclass
class Services:
    database: Database
    content: Content
    clock: Clock
    inbox: Inbox
    coach: Coach
    alerts: Alerts
    broadcasts: BroadcastDesk
    desk: GuideDesk | None  # only with a staff chat
    commands: StaffCommands | None

    @property
    def staff_chat_id(self) -> int | None:
        return self.alerts.staff_chat_id


def build(database: Database, content: Content, clock: Clock, place: Place) -> Services:
    inbox = Inbox(database, clock)
    alerts = Alerts(
        database, content, clock, inbox, staff_chat_id=place.staff_chat_id, repeat=place.alert_repeat,
        review_repeat=place.review_alert_repeat,
    )  # fmt: skip
    desk = None
    if place.staff_chat_id is not None:
        hours = place.hours or parse_office_hours("Mon-Fri 09:00-17:00")
        desk = GuideDesk(
            database, content, clock, inbox, staff_chat_id=place.staff_chat_id, hours=hours,
            answer_within=place.answer_within, names_visible=place.names_visible,
        )  # fmt: skip
    defaults = Defaults(place.default_locale, place.default_timezone, place.default_country, frozenset(content.locales))
    enrolment = Enrolment(content, place.enrolment)
    coach = Coach(database, content, clock, inbox, Effects(content, alerts, desk), defaults, enrolment)
    broadcasts = BroadcastDesk(database, content, clock, staff_chat_id=place.staff_chat_id, inbox=inbox)
    return Services(
        database,
        content,
        clock,
        inbox,
        coach,
        alerts,
        broadcasts,
        desk,
        StaffCommands(desk, frozenset(place.admin_ids), enrolment) if desk else None,
    )
