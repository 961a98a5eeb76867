"""After risk language, the conversation waits for the patient.

- Ambiguous words ("I can't do this anymore"): a direct, kind question (overlay `safety_ask`):
  thoughts of harming yourself, or of not wanting to live? Yes / No / Not sure. Yes and Not sure are
  clear risk (the safety message, and the pause below); No gets a warm reply. The coach raises the
  alerts (`AnsweredAboutRisk`: urgent, or review for No) and a review alert when the question is
  left unanswered for an hour (`AskedAboutRisk`).
- Clear risk: after the safety message, the lesson does not carry on cheerfully: Carry on /
  Message my guide / Crisis contacts (overlay `safety_pause`), and the next lesson message waits.

The watch (dialogs/safety.py) decides; this stage holds what the patient's own stage would have
sent next, once every stage has seen the event (`after`)."""

from __future__ import annotations

from dataclasses import replace

from dialogs.actions import AnsweredAboutRisk, Send
from dialogs.stage import Stage
from dialogs.state import PatientState
from dialogs.turn import Turn

ASK = "safety_ask"
PAUSE = "safety_pause"
YES, NO, UNSURE = "risk-yes", "risk-no", "risk-unsure"
CARRY_ON, GUIDE, CONTACTS = "pause-carry-on", "pause-guide", "pause-contacts"


class SafetyCheckStage(Stage):
    name = "safety_check"
    overlays = frozenset({ASK, PAUSE})

    def after(self, turn: Turn, before: PatientState) -> None:
        hold = turn.risk_hold
        if hold is None:
            return
        kind, since = hold
        turn.risk_hold = None
        # what the patient's place would have sent next waits: the lesson goes on after their choice
        held = [a for a in turn.actions[since:] if isinstance(a, Send) and not a.urgent and a.at is None]
        turn.actions[since:] = [a for a in turn.actions[since:] if not any(a is h for h in held)]
        # messages without buttons (a lesson's text, "a guide will get back to you") wait for the
        # patient's choice; a question is asked again then, with fresh buttons
        texts = tuple(h.text for h in held if not h.buttons)
        turn.state = replace(turn.state, risk_held=(*turn.state.risk_held, *texts)[-10:])
        if kind == ASK:
            self.ask(turn)
        else:
            self.pause(turn)

    # -- the question ---------------------------------------------------------------------

    def ask(self, turn: Turn, *, fresh: bool = True) -> None:
        prompt = turn.next_prompt() if fresh else turn.state.prompt
        turn.state = replace(turn.state, overlay=ASK, awaiting="button", guide_draft=())
        choices = [(turn.ui("risk_question_yes"), YES), (turn.ui("risk_question_no"), NO),
                   (turn.ui("risk_question_unsure"), UNSURE)]  # fmt: skip
        turn.actions.append(Send(turn.ui("risk_question"), turn.buttons(choices, prompt), urgent=True))

    def pause(self, turn: Turn, *, fresh: bool = True) -> None:
        prompt = turn.next_prompt() if fresh else turn.state.prompt
        turn.state = replace(turn.state, overlay=PAUSE, awaiting="button", guide_draft=())
        choices = [(turn.ui("risk_pause_carry_on"), CARRY_ON), (turn.ui("risk_pause_guide"), GUIDE),
                   (turn.ui("risk_pause_contacts"), CONTACTS)]  # fmt: skip
        turn.actions.append(Send(turn.ui("risk_pause"), turn.buttons(choices, prompt), urgent=True))

    def overlay_show(self, turn: Turn, *, fresh: bool) -> None:
        if turn.state.overlay == ASK:
            self.ask(turn, fresh=False)
        else:
            self.pause(turn, fresh=fresh)

    def before_command(self, turn: Turn, name: str) -> None:
        """A command is heard; an unanswered question stays with the coach (reviewed after an hour)."""
        turn.state = replace(turn.state, overlay=None)

    def overlay_text(self, turn: Turn, text: str, message_id: int | None) -> None:
        turn.say("risk_waiting")  # the words were read for risk already, by the watch
        self.overlay_show(turn, fresh=False)

    def overlay_not_text(self, turn: Turn, message_id: int, unscreened: str = "") -> bool:
        self.overlay_text(turn, "", message_id)
        return True

    def overlay_tap(self, turn: Turn, choice: str, message_id: int | None) -> None:
        overlay = turn.state.overlay
        turn.toast(None)
        if overlay == ASK and choice in (YES, UNSURE, NO):
            label = {YES: "risk_question_yes", NO: "risk_question_no", UNSURE: "risk_question_unsure"}[choice]
            turn.mark_chosen(message_id, turn.ui("risk_question"), turn.ui(label))
            turn.actions.append(AnsweredAboutRisk(choice.removeprefix("risk-")))
            turn.state = replace(turn.state, overlay=None)
            if choice == NO:
                turn.say("risk_question_thanks")
                held, turn.state = turn.state.risk_held, replace(turn.state, risk_held=())
                turn.actions.extend(Send(text) for text in held)
                turn.show_current(fresh=True)
                return
            turn.actions.append(Send(turn.ui("safety_message", **turn.crisis_context()), urgent=True))
            self.pause(turn)
            return
        if overlay == PAUSE and choice in (CARRY_ON, GUIDE, CONTACTS):
            names = {CARRY_ON: "risk_pause_carry_on", GUIDE: "risk_pause_guide", CONTACTS: "risk_pause_contacts"}
            turn.mark_chosen(message_id, turn.ui("risk_pause"), turn.ui(names[choice]))
            if choice == CONTACTS:
                turn.actions.append(Send(turn.ui("risk_contacts", **turn.crisis_context()), urgent=True))
                self.pause(turn)  # still their choice what comes next
                return
            held, turn.state = turn.state.risk_held, replace(turn.state, overlay=None, risk_held=())
            if choice == GUIDE and turn.choose("guide", None):
                return
            before = len(turn.actions)
            turn.actions.extend(Send(text) for text in held)
            turn.show_current(fresh=True)
            shown = [a.text for a in turn.actions[before + len(held) :] if isinstance(a, Send)]
            if held and shown and shown[0] == held[-1]:
                del turn.actions[before + len(held) - 1]  # the question held is the one shown again
            return
        turn.stale()
