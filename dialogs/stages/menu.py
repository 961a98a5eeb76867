"""The main menu and progress: the menu's main page (its buttons come from every stage), /menu,
/progress (lessons, tools and scores in words, then a chart), /help, and unknown commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from dialogs.events import Command
from dialogs.stage import Gate, Stage
from dialogs.state import MENU_STEP
from dialogs.turn import Choices, MenuButton, MenuNote, Turn

PROGRESS, HELP = "progress", "help"  # main-menu choices


class MenuStage(Stage):
    name = "menu"
    pages = frozenset({MENU_STEP})
    commands: ClassVar[Mapping[str, Gate]] = {"menu": Gate.CONSENTED, PROGRESS: Gate.CONSENTED, HELP: Gate.ANYONE}
    menu_choices = frozenset({PROGRESS, HELP})
    takes_unknown_commands = True

    def on_command(self, turn: Turn, command: Command) -> None:
        if command.name == HELP:
            self.help(turn)
        elif command.name == PROGRESS:
            self.send_progress(turn)
        else:
            turn.show_menu()

    def on_unknown_command(self, turn: Turn, command: Command) -> None:
        turn.say("unknown_command", command="/" + command.name)

    def help(self, turn: Turn) -> None:
        turn.say("help", **turn.crisis_context())

    # -- the main page --------------------------------------------------------------------

    def page(self, turn: Turn, page: str) -> tuple[str, Choices] | None:
        notes, buttons = turn.main_menu()
        text = "\n\n".join([*(note.text for note in notes), turn.ui("menu")])
        return text, [(button.label, button.choice) for button in buttons]

    def page_tap(self, turn: Turn, page: str, choice: str, message_id: int | None) -> None:
        if not turn.choose(choice, message_id):
            turn.stale()

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.toast(None)
        if choice == HELP:
            self.help(turn)
        else:
            self.send_progress(turn)

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        return [MenuButton(30, turn.ui("menu_progress"), PROGRESS), MenuButton(80, turn.ui("menu_help"), HELP)]

    # -- /progress ------------------------------------------------------------------------

    def send_progress(self, turn: Turn) -> None:
        """What every stage has to show, in words, then what comes after (the chart of scores)."""
        parts = turn.progress()
        turn.send("\n".join([turn.ui("progress_title"), *(line for part in parts for line in part.lines)]))
        for part in parts:
            turn.actions.extend(part.then)
