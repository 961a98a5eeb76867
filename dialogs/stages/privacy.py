"""/privacy: what is stored about the patient, "Export my data" (the coach sends it all, as it
is stored) and "Delete my data" (after a confirmation, the coach erases every row and text of
theirs in the same transaction; research/erasure.py). Two menu pages: `privacy` and `privacy/erase`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from dialogs.actions import EraseMyData, ExportMyData
from dialogs.events import Command
from dialogs.stage import Gate, Stage
from dialogs.turn import Turn

PAGE = "privacy"
CONFIRM = "privacy/erase"


class PrivacyStage(Stage):
    name = "privacy"
    pages = frozenset({PAGE, CONFIRM})
    commands: ClassVar[Mapping[str, Gate]] = {"privacy": Gate.STARTED}

    def on_command(self, turn: Turn, command: Command) -> None:
        turn.show_menu(page=PAGE)

    def page(self, turn: Turn, page: str) -> tuple[str, list[tuple[str, str]]] | None:
        if page == CONFIRM:
            return turn.ui("privacy_erase_confirm"), [
                (turn.ui("privacy_erase_yes"), "erase_yes"), (turn.ui("privacy_erase_no"), "erase_no"),
            ]  # fmt: skip
        return turn.ui("privacy_page"), [
            (turn.ui("privacy_export"), "export"), (turn.ui("privacy_erase"), "erase"), (turn.ui("menu_back"), "back"),
        ]  # fmt: skip

    def page_tap(self, turn: Turn, page: str, choice: str, message_id: int | None) -> None:
        if page == PAGE and choice == "export":
            turn.mark_chosen(message_id, turn.ui("privacy_page"), turn.ui("privacy_export"))
            turn.say("privacy_export_sent")
            turn.actions.append(ExportMyData())
        elif page == PAGE and choice == "erase":
            turn.mark_chosen(message_id, turn.ui("privacy_page"), turn.ui("privacy_erase"))
            turn.show_menu(page=CONFIRM)
        elif page == PAGE and choice == "back":
            turn.show_menu()
        elif page == CONFIRM and choice == "erase_yes":
            turn.mark_chosen(message_id, turn.ui("privacy_erase_confirm"), turn.ui("privacy_erase_yes"))
            turn.toast("privacy_erased")
            turn.actions.append(EraseMyData())
        elif page == CONFIRM and choice == "erase_no":
            turn.mark_chosen(message_id, turn.ui("privacy_erase_confirm"), turn.ui("privacy_erase_no"))
            turn.say("privacy_kept")
            turn.show_menu()
        else:
            turn.stale()
