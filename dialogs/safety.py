"""The watch the router keeps on every event before any stage sees it: what the patient wrote is
read for risk (content/risk_language.py, with the phrase sets of content/<language>/safety.yaml)
and answered by its tier. Pure functions; the phrase lists are content."""

from __future__ import annotations

from content.render import shortened
from content.risk_language import Finding, reader_of, weightier
from content.schema import Content
from dialogs.actions import AskedAboutRisk, RaiseAlert, Send
from dialogs.events import Command, Edited, Event, NotText, Start, Text
from dialogs.turn import Turn

ASK, PAUSE = "safety_ask", "safety_pause"  # the overlays of dialogs/stages/safety_check.py


def read_risk(text: str, content: Content, locale: str | None) -> Finding | None:
    """The weightiest risk in `text`, read with the patient's course's phrases and every other
    language's (a patient may write in their own language whatever the course's)."""
    found: Finding | None = None
    for phrases in content.safety_sets(locale):
        found = weightier(found, reader_of(phrases).read(text))
        if found is not None and found.tier == "urgent":
            break
    return found


def written(event: Event) -> str:
    """What the patient wrote in an event: a message, a caption, an edit, command arguments, a
    deep-link payload."""
    if isinstance(event, Text | Edited):
        return event.text
    if isinstance(event, NotText):
        return event.caption
    if isinstance(event, Command):
        return event.args
    if isinstance(event, Start):
        return event.payload
    return ""


def watch_for_crisis(turn: Turn, event: Event) -> None:
    """Risk language anywhere. Clear risk: the safety message first, an urgent alert to the guides,
    and then the patient's message is handled as usual. Someone else's risk: a review alert."""
    text = written(event)
    finding = read_risk(text, turn.full_content, turn.state.locale) if text else None
    if finding is None:
        return
    place = f"{turn.state.flow or 'start'}/{turn.state.step or '-'}"
    if finding.tier == "urgent":
        turn.actions.append(Send(turn.ui("safety_message", **turn.crisis_context()), urgent=True))
        turn.actions.append(RaiseAlert("urgent", f"risk language ({finding.family}) at {place}", shortened(text, 1000)))
        if not isinstance(event, Edited):  # an edit of an old message changes nothing in the conversation
            turn.risk_hold = (PAUSE, len(turn.actions))
    elif finding.tier == "ask":
        if turn.state.overlay == PAUSE:
            return  # clear risk was just handled; the patient is already choosing what comes next
        turn.actions.append(AskedAboutRisk(f"ambiguous words ({finding.family}) at {place}", shortened(text, 1000)))
        if not isinstance(event, Edited):
            turn.risk_hold = (ASK, len(turn.actions))
    elif finding.tier == "mention":
        turn.actions.append(
            RaiseAlert("review", f"someone else's risk ({finding.family}) at {place}", shortened(text, 1000))
        )
