"""`paincoach content stats`: how long each flow is, and how easy it is to read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.readability import grade
from content.render import plain
from content.schema import Flow, MessageStep, QuestionStep, QuizStep

WORDS_PER_MINUTE = 150  # slower than usual: fatigue and fibro fog make reading harder
_TEMPLATE = re.compile(r"{[{%#].*?[}%#]}", re.S)


@dataclass(frozen=True)
class FlowStats:
    flow: str
    title: str
    steps: int
    messages: int
    words: int
    minutes: float
    grade: float


def readable_text(flow: Flow) -> str:
    """What the patient reads in a flow, without markup or template code."""
    parts: list[str] = []
    for step in flow.steps:
        parts.append(step.text)
        if isinstance(step, QuestionStep) and step.reply:
            parts.append(step.reply)
        if isinstance(step, QuizStep):
            parts += [option.feedback for option in step.options]
    return "\n".join(plain(_TEMPLATE.sub(" ", part)) for part in parts)


def flow_stats(flow: Flow) -> FlowStats:
    text = readable_text(flow)
    words = len(text.split())
    messages = sum(1 for step in flow.steps if isinstance(step, MessageStep))
    return FlowStats(
        flow=flow.id,
        title=flow.title,
        steps=len(flow.steps),
        messages=messages,
        words=words,
        minutes=round(words / WORDS_PER_MINUTE, 1),
        grade=grade(text),
    )
