"""Reaching the guide: /guide and the menu's "Message my guide" (the next message is the one),
and anything sent on the menu, offered first (Send / Don't send), so nothing reaches a person by
accident. The coach relays what `RelayToGuide` names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar

from dialogs.actions import RelayToGuide
from dialogs.events import Command
from dialogs.stage import Gate, Stage
from dialogs.state import Status
from dialogs.turn import MenuButton, MenuNote, Turn

GUIDE = "guide"  # the command, the main-menu choice, and the overlay while the patient writes to the guide
OFFER = "guide_confirm"  # the overlay of "send this to your guide?"; the messages wait in `guide_draft`
SEND, KEEP, CANCEL = "guide-send", "guide-keep", "guide-cancel"  # choices on those two questions
MAX_DRAFT = 10  # messages a patient may gather before saying whether to send them
OFFER_NAME = "guide-offer"  # the one live "send this to your guide?" at a time (Send.replaces)


class GuideStage(Stage):
    name = "guide"
    overlays = frozenset({GUIDE, OFFER})
    commands: ClassVar[Mapping[str, Gate]] = {GUIDE: Gate.STARTED}  # a stopped patient can still reach a person
    menu_choices = frozenset({GUIDE})
    takes_messages_outside_steps = True

    def before_command(self, turn: Turn, name: str) -> None:
        """A command leaves an unsent note unsent."""
        if name != GUIDE:
            turn.state = replace(turn.state, overlay=None, guide_draft=())

    def on_command(self, turn: Turn, command: Command) -> None:
        """/guide: write to the guide; `/guide <message>` sends that message at once."""
        if command.args and command.message_id is not None:
            turn.state = replace(turn.state, overlay=None, guide_draft=(), guide_unscreened=())
            self.relay(turn, (command.message_id,))
            return
        self.ask_for_message(turn)

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.toast(None)
        turn.clear_buttons(message_id, turn.ui("menu"))
        self.ask_for_message(turn)

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        return [MenuButton(70, turn.ui("menu_guide"), GUIDE)]

    # -- asking ---------------------------------------------------------------------------

    def ask_for_message(self, turn: Turn, *, fresh: bool = True) -> None:
        prompt = turn.next_prompt() if fresh else turn.state.prompt
        turn.state = replace(turn.state, overlay=GUIDE, awaiting="text", guide_draft=())
        turn.send(turn.ui("guide_write"), [(turn.ui("guide_cancel"), CANCEL)], prompt)

    def offer(self, turn: Turn, message_id: int, unscreened: str = "") -> None:
        """Ask before anything sent outside a step goes to the guide; a second message joins the first."""
        draft = turn.state.guide_draft if turn.state.overlay == OFFER else ()
        if message_id not in draft and len(draft) >= MAX_DRAFT:
            turn.say("guide_draft_full", limit=MAX_DRAFT)  # said, never dropped silently
            return
        if message_id not in draft:
            draft = (*draft, message_id)
        kinds = tuple(pair for pair in turn.state.guide_unscreened if pair[0] in draft)
        if unscreened:
            kinds = (*kinds, (message_id, unscreened))
        prompt = turn.next_prompt()
        turn.state = replace(turn.state, overlay=OFFER, awaiting="button", guide_draft=draft, guide_unscreened=kinds)
        self.send_offer(turn, prompt)

    @staticmethod
    def send_offer(turn: Turn, prompt: int) -> None:
        choices = [(turn.ui("guide_offer_send"), SEND), (turn.ui("guide_offer_keep"), KEEP)]
        turn.send(turn.ui("guide_offer", count=len(turn.state.guide_draft)), choices, prompt, replaces=OFFER_NAME)

    def overlay_show(self, turn: Turn, *, fresh: bool) -> None:
        if turn.state.overlay == GUIDE:
            self.ask_for_message(turn, fresh=fresh)
            return
        draft, kinds = turn.state.guide_draft, turn.state.guide_unscreened
        prompt = turn.next_prompt() if fresh else turn.state.prompt
        turn.state = replace(turn.state, overlay=OFFER, awaiting="button", guide_draft=draft, guide_unscreened=kinds)
        self.send_offer(turn, prompt)

    # -- what the patient sends -----------------------------------------------------------

    def on_message_outside_steps(self, turn: Turn, message_id: int, unscreened: str = "") -> None:
        self.offer(turn, message_id, unscreened)

    def overlay_text(self, turn: Turn, text: str, message_id: int | None) -> None:
        if message_id is not None:
            self.on_message(turn, message_id)
        else:  # a transport with no message ids (the terminal chat) cannot relay
            turn.state = replace(turn.state, overlay=None, guide_draft=())
            turn.say("guide_not_sent")
            self.carry_on(turn)

    def overlay_not_text(self, turn: Turn, message_id: int, unscreened: str = "") -> bool:
        self.on_message(turn, message_id, unscreened)
        return True

    def on_message(self, turn: Turn, message_id: int, unscreened: str = "") -> None:
        if turn.state.overlay == OFFER:
            self.offer(turn, message_id, unscreened)
        else:  # the patient chose to write to their guide: this is the message
            turn.state = replace(turn.state, overlay=None, guide_draft=(), guide_unscreened=())
            self.relay(turn, (message_id,), ((message_id, unscreened),) if unscreened else ())

    def overlay_tap(self, turn: Turn, choice: str, message_id: int | None) -> None:
        overlay, draft = turn.state.overlay, turn.state.guide_draft
        kinds = tuple(pair for pair in turn.state.guide_unscreened if pair[0] in draft)
        if (overlay, choice) not in ((OFFER, SEND), (OFFER, KEEP), (GUIDE, CANCEL)):
            turn.stale()
            return
        turn.toast(None)
        turn.state = replace(turn.state, overlay=None, guide_draft=(), guide_unscreened=())
        if choice == SEND:
            turn.mark_chosen(message_id, turn.ui("guide_offer", count=len(draft)), turn.ui("guide_offer_send"))
            self.relay(turn, draft, kinds)
            return
        if choice == KEEP:
            turn.mark_chosen(message_id, turn.ui("guide_offer", count=len(draft)), turn.ui("guide_offer_keep"))
        else:
            turn.mark_chosen(message_id, turn.ui("guide_write"), turn.ui("guide_cancel"))
        turn.say("guide_not_sent")
        self.carry_on(turn)

    def relay(self, turn: Turn, message_ids: tuple[int, ...], unscreened: tuple[tuple[int, str], ...] = ()) -> None:
        turn.actions.append(RelayToGuide(message_ids, unscreened))
        self.carry_on(turn)

    @staticmethod
    def carry_on(turn: Turn) -> None:
        """After a message for the guide: back to where the patient was."""
        if turn.state.status in (Status.ACTIVE, Status.ONBOARDING):
            turn.show_current(fresh=True)
