"""`paincoach content graph`: a Mermaid diagram of a flow's steps, for clinical review."""

from __future__ import annotations

from content.render import plain
from content.schema import ChoiceStep, EndStep, Flow, MessageStep, QuestionStep, QuizStep, Step

TEASER = 48


def _teaser(text: str) -> str:
    words = " ".join(plain(text).split())
    words = words if len(words) <= TEASER else words[: TEASER - 1].rstrip() + "…"
    return words.replace('"', "'").replace("{", "(").replace("}", ")")


def _node(key: str, step: Step) -> str:
    label = f"{step.id}<br/>{_teaser(step.text)}"
    if isinstance(step, EndStep):
        return f'{key}(["{label}"])'
    if isinstance(step, QuestionStep):
        return f'{key}[/"✍ {label}"/]'
    if isinstance(step, ChoiceStep | QuizStep):
        return f'{key}{{"{"❓ " if isinstance(step, QuizStep) else ""}{label}"}}'
    return f'{key}["{label}"]'


def _edge_label(text: str) -> str:
    return text.replace('"', "'").replace("|", "/")


def edges(flow: Flow) -> dict[tuple[str, str], list[str]]:
    """Every transition of the flow, by (from, to), with the labels of the taps that make it."""
    found: dict[tuple[str, str], list[str]] = {}

    def add(source: str, target: str | None, label: str = "") -> None:
        if target is not None and flow.has_step(target):
            labels = found.setdefault((source, target), [])
            if label:
                labels.append(label)

    for step in flow.steps:
        default = flow.next_of(step)
        if isinstance(step, MessageStep) and step.buttons:
            for button in step.buttons:
                add(step.id, button.next or default, button.label)
        elif isinstance(step, ChoiceStep):
            for option in step.options:
                add(step.id, option.next or default, option.label)
        elif isinstance(step, MessageStep) and step.button:
            add(step.id, default, step.button)
        elif isinstance(step, QuestionStep):
            add(step.id, default, "answer" + (f" / {step.skip}" if step.skip else ""))
        else:
            add(step.id, default)
    return found


def mermaid(flow: Flow) -> str:
    """The flow as a Mermaid flowchart: shapes by step type, the taps' labels on the arrows."""
    keys = {step.id: f"s{index}" for index, step in enumerate(flow.steps)}
    lines = ["flowchart TD", f"  %% {flow.id}: {flow.title}"]
    lines += [f"  {_node(keys[step.id], step)}" for step in flow.steps]
    for (source, target), labels in edges(flow).items():
        if labels:
            lines.append(f'  {keys[source]} -- "{_edge_label(" / ".join(labels))}" --> {keys[target]}')
        else:
            lines.append(f"  {keys[source]} --> {keys[target]}")
    return "\n".join(lines) + "\n"
