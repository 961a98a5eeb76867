"""Which of the coach's services takes each inbound event, decided once, without a framework.

Every route marks the update handled in the transaction of its effects (coach/inbox.py), so an
update is handled exactly once whichever route takes it, taps that change nothing included.
Runs on the database thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.inbound import (
    Ignored,
    Inbound,
    PatientEdit,
    PatientMessage,
    PatientTap,
    StaffEdit,
    StaffMessage,
    StaffTap,
)
from coach.alerts import ACK, OUTCOME, PROTOCOL, REVIEWED
from coach.desk import DONE
from coach.services import Services
from dialogs.desk.roles import MAY

log = logging.getLogger(__name__)

BROADCAST = "bc:"


@dataclass(frozen=True)
class Answer:
    """What to do at once for the person: answer their tap (None: just stop the spinner)."""

    query_id: str | None = None
    toast: str | None = None
    patient: bool = False  # a patient's event: if handling it fails, they are told so


class Routes:
    def __init__(self, services: Services) -> None:
        self.services = services

    def route(self, update_id: int, inbound: Inbound) -> Answer:
        services = self.services
        if isinstance(inbound, PatientMessage):
            services.coach.handle(inbound.person, inbound.event, update_id)
            return Answer(patient=True)
        if isinstance(inbound, PatientTap):
            reply = services.coach.handle(inbound.person, inbound.press, update_id)
            return Answer(inbound.query_id, reply.toast, patient=True)
        if isinstance(inbound, PatientEdit):
            services.coach.handle_edit(
                inbound.person, inbound.message_id, inbound.written, inbound.html, inbound.is_caption, update_id
            )
            return Answer(patient=True)
        if isinstance(inbound, StaffMessage):
            self._staff_message(update_id, inbound)
            return Answer()
        if isinstance(inbound, StaffEdit) and services.desk is not None:
            services.desk.staff_edited(update_id, inbound.post)
            return Answer()
        if isinstance(inbound, StaffTap):
            return Answer(inbound.query_id, self._staff_tap(update_id, inbound))
        query = inbound.query_id if isinstance(inbound, Ignored) else None
        services.inbox.ignore(update_id)
        return Answer(query)

    def _staff_message(self, update_id: int, message: StaffMessage) -> None:
        services, command = self.services, message.command
        if command is not None and command.name == "broadcast":
            outcome = services.broadcasts.request(update_id, message.post.user_id, message.text, message.post.thread_id)
        elif command is not None and command.name in MAY and services.commands is not None:
            outcome = services.commands.command(update_id, message.post, command.name, command.args)
        elif command is None and services.desk is not None:
            outcome = services.desk.staff_post(update_id, message.post)
        else:  # "// a note for the team", another bot's command: never relayed to a patient
            services.inbox.ignore(update_id)
            outcome = "not for the coach"
        log.info("staff chat message: %s", outcome)

    def _staff_tap(self, update_id: int, tap: StaffTap) -> str | None:
        services = self.services
        item = tap.data.partition(":")[2]
        if tap.data.startswith(ACK) and item.isdigit():
            return services.alerts.acknowledge(update_id, int(item), tap.user_id, tap.name, tap.message_id)
        if tap.data.startswith(OUTCOME):
            return services.alerts.close(update_id, tap.data, tap.user_id, tap.name, tap.message_id)
        if tap.data.startswith(PROTOCOL):
            return services.alerts.protocol(update_id, tap.user_id)
        if tap.data.startswith(REVIEWED) and item.isdigit():
            return services.alerts.review_flag(update_id, int(item), tap.user_id, tap.name, tap.message_id)
        if tap.data.startswith(DONE) and item.isdigit() and services.desk is not None:
            return services.desk.mark_answered(update_id, tap.user_id, int(item))
        if tap.data.startswith(BROADCAST):
            return services.broadcasts.tap(update_id, tap.user_id, tap.name, tap.data, tap.thread_id)
        services.inbox.ignore(update_id)
        return None
