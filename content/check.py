"""`paincoach content check`: everything about the content that would break the coach."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from content import risk_language, telegram_html
from content.buttons import MAX_CALLBACK_BYTES, WIDEST_PROMPT, encode, fits
from content.calendar import MONTHS, WEEKDAYS
from content.loader import ContentError, LoadedContent, LoadedLocale, Problem, SourceFile, load_sources
from content.render import ENVIRONMENT, QUOTED_ANSWER, is_template, render, visible_length
from content.schema import (
    BreathingStep,
    ChoiceStep,
    Content,
    EndStep,
    Flow,
    MessageStep,
    PickStep,
    Questionnaire,
    QuestionStep,
    QuizStep,
    SafetyPhrases,
    ScaleStep,
    Step,
)
from content.ui import BUTTON_TEXTS, FLOW_VARIABLES, UI_TEXTS

MAX_MESSAGE = 4096
MAX_IN_A_ROW = 3
SAMPLE_ANSWER = "x" * QUOTED_ANSWER  # answers are shortened before they are quoted back


def check_directory(root: Path, default_locale: str) -> list[Problem]:
    loaded, problems = load_sources(root, default_locale)
    if loaded is not None:
        problems.extend(check_loaded(loaded))
    return problems


def load_content(root: Path, default_locale: str) -> Content:
    """Load and fully check the content; raise ContentError listing every problem."""
    loaded, problems = load_sources(root, default_locale)
    if loaded is not None:
        problems.extend(check_loaded(loaded))
    if problems or loaded is None:
        raise ContentError(problems)
    return loaded.content


def check_loaded(loaded: LoadedContent) -> list[Problem]:
    problems: list[Problem] = []
    times = frozenset(loaded.content.program.times_of_day)
    default = loaded.locales[loaded.content.default_locale]
    for locale in loaded.locales.values():
        problems.extend(_check_ui(locale, required=locale is default))
        for flow in locale.content.flows.values():
            problems.extend(_check_flow(locale, flow, times))
        for questionnaire in locale.content.questionnaires.values():
            problems.extend(_check_questionnaire(locale, questionnaire))
        if locale is not default:
            problems.extend(_check_translation(default, locale))
    for language, source in loaded.phrase_sources.items():
        problems.extend(_check_phrases(source, loaded.content.phrase_sets[language]))
    problems.extend(_check_program(loaded))
    problems.extend(_check_schedule(loaded))
    if not any(f.kind == "onboarding" for f in default.content.flows.values()):
        problems.append(Problem(_folder(default) / "flows", 1, "no onboarding flow"))
    for locale in loaded.locales.values():
        problems.extend(_check_screenings(locale))
    return problems


def _check_screenings(locale: LoadedLocale) -> Iterator[Problem]:
    """Eligibility flows: one for everyone (no `site`) at most, and one per site."""
    seen: dict[str | None, str] = {}
    for flow in locale.content.flows.values():
        if flow.kind != "eligibility":
            continue
        if flow.site in seen:
            whose = f"site {flow.site!r}" if flow.site else "everyone (no `site`)"
            source = locale.sources[flow.id]
            yield Problem(source.path, source.line_of(("site",)) if flow.site else 1,
                          f"two eligibility flows for {whose}: {seen[flow.site]} and {flow.id}")  # fmt: skip
        seen.setdefault(flow.site, flow.id)


def _folder(locale: LoadedLocale) -> Path:
    source = locale.sources.get("ui") or next(iter(locale.sources.values()))
    return source.path.parent


def _check_program(loaded: LoadedContent) -> Iterator[Problem]:
    source = loaded.program_source
    program = loaded.content.program
    released = {r.lesson for r in program.lessons}
    for locale in loaded.locales.values():
        numbers = {lesson.number for lesson in locale.content.lessons()}
        for number in sorted(n for n in numbers if n is not None and n not in released):
            flow = locale.content.lesson(number)
            path = locale.sources[flow.id].path if flow else source.path
            yield Problem(path, 1, f"lesson {number} is not in the timetable (program.yaml)")
        for index, release in enumerate(program.lessons):
            if release.lesson not in numbers and locale.content.locale == loaded.content.default_locale:
                yield Problem(
                    source.path,
                    source.line_of(("lessons", index, "lesson")),
                    f"lesson {release.lesson} is in the timetable but there is no lesson-{release.lesson} file",
                )


# -- questionnaires ---------------------------------------------------------------------------


QUESTIONNAIRE_VARIABLES = frozenset({"crisis_contacts", "country_name", "code"})


def _check_questionnaire(locale: LoadedLocale, questionnaire: Questionnaire) -> Iterator[Problem]:
    source = locale.questionnaire_sources[questionnaire.id]
    context = _sample_flow_context(locale, set())
    texts: list[tuple[tuple[str | int, ...], str]] = [(("intro",), questionnaire.intro)]
    if questionnaire.stem:
        texts.append((("stem",), questionnaire.stem))
    texts += [(("items", i, "text"), item.text) for i, item in enumerate(questionnaire.items)]
    texts += [(("bands", i, "message"), band.message) for i, band in enumerate(questionnaire.bands)]
    for where, text in texts:
        line = source.line_of(where)
        yield from _check_template(source.path, line, text, QUESTIONNAIRE_VARIABLES)
        yield from _check_rendered(source.path, line, text, context)
    for index, item in enumerate(questionnaire.items):
        for option in questionnaire.answers(item):
            if not fits(f"a:{option.value}"):
                yield Problem(source.path, source.line_of(("items", index)), f"answer value {option.value} is too long")


def _check_schedule(loaded: LoadedContent) -> Iterator[Problem]:
    """Every questionnaire the timetable gives, or a stepped-care rule names, exists."""
    source = loaded.program_source
    program = loaded.content.program
    known = set(loaded.locales[loaded.content.default_locale].content.questionnaires)
    for index, occasion in enumerate(program.questionnaires):
        for position, name in enumerate(occasion.give):
            if name not in known:
                yield Problem(
                    source.path,
                    source.line_of(("questionnaires", index, "give", position)),
                    f"occasion {occasion.id!r} gives {name!r}, which is not a questionnaire "
                    f"(content/<locale>/questionnaires/{name}.yaml)",
                )
    ids = [o.id for o in program.questionnaires]
    for index, occasion in enumerate(program.questionnaires):
        if ids.count(occasion.id) > 1:
            yield Problem(
                source.path, source.line_of(("questionnaires", index, "id")), f"occasion {occasion.id!r} twice"
            )
    for index, rule in enumerate(program.stepped_care):
        if rule.questionnaire not in known:
            yield Problem(
                source.path,
                source.line_of(("stepped_care", index, "questionnaire")),
                f"stepped-care rule {rule.id!r} names {rule.questionnaire!r}, which is not a questionnaire",
            )


# -- flows ---------------------------------------------------------------------------------


def _step_line(source: SourceFile, flow: Flow, step_id: str, *field: str | int) -> int:
    index = [s.id for s in flow.steps].index(step_id)
    return source.line_of(("steps", index, *field))


def _check_flow(locale: LoadedLocale, flow: Flow, times: frozenset[str]) -> Iterator[Problem]:
    source = locale.sources[flow.id]
    known = {step.id for step in flow.steps}
    seen: set[str] = set()
    for index, step in enumerate(flow.steps):
        if step.id in seen:
            yield Problem(source.path, source.line_of(("steps", index, "id")), f"step {step.id!r} is defined twice")
        seen.add(step.id)

    yield from _check_targets(source, flow, known)
    yield from _check_reachable(source, flow)
    yield from _check_pacing(source, flow)
    yield from _check_choices(locale, source, flow)
    saved = flow.available_keys(locale.content.flows)
    yield from _check_follow_up(source, flow, locale.content.flows)
    yield from _check_lesson_extras(source, flow, locale.content.flows)
    if flow.summary is not None:
        line = source.line_of(("summary",))
        yield from _check_template(source.path, line, flow.summary, FLOW_VARIABLES, saved)
        yield from _check_rendered(source.path, line, flow.summary, _sample_flow_context(locale, saved))
    if flow.reminder is not None:
        yield from _check_reminder(times, source, flow, saved)
    if flow.kind == "tool":
        for step in flow.steps:
            if isinstance(step, BreathingStep) and step.minutes_from not in saved:
                yield Problem(
                    source.path,
                    _step_line(source, flow, step.id, "minutes_from"),
                    f"minutes_from: no step saves {step.minutes_from!r}",
                )
    for step in flow.steps:
        for field, text in _texts(step):
            line = _step_line(source, flow, step.id, *field)
            yield from _check_template(source.path, line, text, FLOW_VARIABLES, saved)
            yield from _check_rendered(source.path, line, text, _sample_flow_context(locale, saved))


def _check_lesson_extras(source: SourceFile, flow: Flow, flows: Mapping[str, Flow]) -> Iterator[Problem]:
    """Every lesson links to its extra reading and has a handout; both name what exists."""
    if flow.kind != "lesson":
        return
    if not flow.reading:
        yield Problem(source.path, 1, "a lesson needs `reading`: the extra resources that fit it")
    for index, resource in enumerate(flow.reading):
        other = flows.get(resource)
        if other is None or other.kind != "resource":
            yield Problem(source.path, source.line_of(("reading", index)), f"reading: no resource {resource!r}")
    if flow.handout is None:
        yield Problem(source.path, 1, "a lesson needs a `handout`: its key points and do-it-yourself steps")
        return
    for field in ("key_points", "diy"):
        for index, step_id in enumerate(getattr(flow.handout, field)):
            if not flow.has_step(step_id):
                yield Problem(source.path, source.line_of(("handout", field, index)), f"handout: no step {step_id!r}")


def _check_follow_up(source: SourceFile, flow: Flow, flows: Mapping[str, Flow]) -> Iterator[Problem]:
    """A tool's follow-up flow exists and names the tool back; a follow-up names a tool."""
    if flow.follow_up is not None:
        other = flows.get(flow.follow_up.flow)
        if other is None or other.follow_up_of != flow.id:
            yield Problem(source.path, source.line_of(("follow_up", "flow")),
                          f"follow_up: {flow.follow_up.flow!r} is not a flow with follow_up_of: {flow.id}")  # fmt: skip
        if flow.reminder is None:
            yield Problem(source.path, source.line_of(("follow_up",)), "follow_up needs a reminder to offer it")
    if flow.follow_up_of is not None:
        parent = flows.get(flow.follow_up_of)
        if parent is None or parent.kind != "tool":
            yield Problem(
                source.path, source.line_of(("follow_up_of",)), f"follow_up_of: no tool {flow.follow_up_of!r}"
            )


WEEKDAY_CHOICES = frozenset({"today", "tomorrow", "mon", "tue", "wed", "thu", "fri", "sat", "sun"})


def _check_reminder(times: frozenset[str], source: SourceFile, flow: Flow, saved: set[str]) -> Iterator[Problem]:
    spec = flow.reminder
    assert spec is not None
    for field, key, allowed in (("day", spec.day, WEEKDAY_CHOICES), ("time", spec.time, times)):
        line = source.line_of(("reminder", field))
        if key not in saved:
            yield Problem(source.path, line, f"reminder.{field}: no step saves {key!r}")
            continue
        for step in flow.steps:
            if isinstance(step, ChoiceStep) and step.save_as == key:
                for index, option in enumerate(step.options):
                    if option.id not in allowed:
                        yield Problem(
                            source.path,
                            _step_line(source, flow, step.id, "options", index, "id"),
                            f"{option.id!r} is not a {field} a reminder understands: {', '.join(sorted(allowed))}",
                        )
    line = source.line_of(("reminder", "text"))
    yield from _check_template(source.path, line, spec.text, FLOW_VARIABLES, saved)


def _check_targets(source: SourceFile, flow: Flow, known: set[str]) -> Iterator[Problem]:
    for step in flow.steps:
        named: list[tuple[tuple[str | int, ...], str | None]] = [(("next",), getattr(step, "next", None))]
        if isinstance(step, MessageStep) and step.buttons:
            named += [(("buttons", i, "next"), b.next) for i, b in enumerate(step.buttons)]
        if isinstance(step, ChoiceStep):
            named += [(("options", i, "next"), o.next) for i, o in enumerate(step.options)]
        for field, target in named:
            if target is not None and target not in known:
                yield Problem(
                    source.path,
                    _step_line(source, flow, step.id, *field),
                    f"step {step.id!r} goes to {target!r}, which is not a step of {flow.id}",
                )
        if not isinstance(step, EndStep) and flow.next_of(step) is None and not _all_branches_named(step):
            yield Problem(
                source.path,
                _step_line(source, flow, step.id),
                f"step {step.id!r} is last but is not an `end` step: give it a `next` or make it type end",
            )


def _all_branches_named(step: Step) -> bool:
    if isinstance(step, MessageStep) and step.buttons:
        return all(b.next for b in step.buttons)
    if isinstance(step, ChoiceStep):
        return all(o.next for o in step.options)
    return False


def _check_reachable(source: SourceFile, flow: Flow) -> Iterator[Problem]:
    known = {step.id for step in flow.steps}
    reached = {flow.first}
    frontier = [flow.first]
    while frontier:
        step = flow.step(frontier.pop())
        for target in flow.targets(step):
            if target in known and target not in reached:
                reached.add(target)
                frontier.append(target)
    for step in flow.steps:
        if step.id not in reached:
            yield Problem(
                source.path,
                _step_line(source, flow, step.id),
                f"step {step.id!r} can never be reached from {flow.first!r}",
            )
    if not any(isinstance(flow.step(s), EndStep) for s in reached if s in known):
        yield Problem(source.path, 1, f"{flow.id} has no reachable `end` step")


def _waits(step: Step) -> bool:
    """Whether the step stops and waits for the patient after its message."""
    if isinstance(step, MessageStep):
        return step.waits
    return True


def _check_pacing(source: SourceFile, flow: Flow) -> Iterator[Problem]:
    """No more than three messages in a row without a tap, and no loop without one."""
    known = {step.id for step in flow.steps}

    def run_from(start: str | None, already: int) -> tuple[int, str | None]:
        count, current, visited = already, start, set()
        while current is not None and current in known:
            if current in visited:
                return -1, current
            visited.add(current)
            step = flow.step(current)
            count += 2 if isinstance(step, EndStep) else 1  # an end is followed by the menu
            if _waits(step):
                return count, current
            current = flow.next_of(step)
        return count, current

    starts: list[tuple[str | None, int, str]] = [(flow.first, 0, flow.first)]
    for step in flow.steps:
        if (isinstance(step, MessageStep) and step.waits) or isinstance(step, ChoiceStep):
            starts += [(t, 0, step.id) for t in flow.targets(step)]
        elif isinstance(step, QuizStep):
            starts.append((flow.next_of(step), 1, step.id))  # the feedback message
        elif isinstance(step, QuestionStep):
            starts.append((flow.next_of(step), 1, step.id))  # the reply to the answer
    reported: set[str] = set()
    for start, already, after in starts:
        count, at = run_from(start, already)
        if count < 0 and at not in reported:
            reported.add(at or "")
            yield Problem(
                source.path,
                _step_line(source, flow, at or flow.first),
                f"steps after {after!r} loop back to {at!r} without a tap: the patient would be flooded",
            )
        elif count > MAX_IN_A_ROW and after not in reported:
            reported.add(after)
            yield Problem(
                source.path,
                _step_line(source, flow, after),
                f"{count} messages in a row without a tap after step {after!r}: "
                f"at most {MAX_IN_A_ROW}; add a `button:` to one of them",
            )


def _check_choices(locale: LoadedLocale, source: SourceFile, flow: Flow) -> Iterator[Problem]:
    for step in flow.steps:
        choices: list[tuple[tuple[str | int, ...], str]] = []
        if isinstance(step, MessageStep) and step.buttons:
            choices = [(("buttons", i, "id"), b.id) for i, b in enumerate(step.buttons)]
        elif isinstance(step, ChoiceStep):
            choices = [(("options", i, "id"), o.id) for i, o in enumerate(step.options)]
        elif isinstance(step, QuizStep):
            choices = [(("options", i, "id"), q.id) for i, q in enumerate(step.options)]
        elif isinstance(step, PickStep):
            choices = [(("options", i, "id"), o.id) for i, o in enumerate(step.options)] + [(("done",), "done")]
        elif isinstance(step, ScaleStep):
            choices = [(("max",), str(value)) for value in step.values()]
        elif isinstance(step, BreathingStep):
            choices = [(("stop",), "stop"), (("carry_on",), "carry-on")]
        ids = [c for _, c in choices]
        for field, choice in choices:
            line = _step_line(source, flow, step.id, *field)
            if not fits(choice):
                size = len(encode(WIDEST_PROMPT, choice).encode())
                yield Problem(
                    source.path,
                    line,
                    f"button data for {choice!r} would be {size} bytes; Telegram allows {MAX_CALLBACK_BYTES}",
                )
            if ids.count(choice) > 1:
                yield Problem(source.path, line, f"step {step.id!r} has two choices with id {choice!r}")
        if isinstance(step, ChoiceStep) and step.profile == "country":
            for i, option in enumerate(step.options):
                if option.id not in locale.content.crisis.countries:
                    yield Problem(
                        source.path,
                        _step_line(source, flow, step.id, "options", i, "id"),
                        f"country {option.id!r} has no crisis contacts in crisis.yaml",
                    )


def _texts(step: Step) -> Iterator[tuple[tuple[str | int, ...], str]]:
    yield ("text",), step.text
    if isinstance(step, MessageStep):
        if step.button:
            yield ("button",), step.button
        for i, button in enumerate(step.buttons or ()):
            yield ("buttons", i, "label"), button.label
    elif isinstance(step, QuestionStep):
        if step.reply:
            yield ("reply",), step.reply
        if step.skip:
            yield ("skip",), step.skip
    elif isinstance(step, ChoiceStep):
        for i, option in enumerate(step.options):
            yield ("options", i, "label"), option.label
    elif isinstance(step, QuizStep):
        for i, quiz_option in enumerate(step.options):
            yield ("options", i, "label"), quiz_option.label
            yield ("options", i, "feedback"), quiz_option.feedback
    elif isinstance(step, PickStep):
        yield ("done",), step.done
        for i, option in enumerate(step.options):
            yield ("options", i, "label"), option.label
    elif isinstance(step, BreathingStep):
        for field in ("cue_in", "cue_out", "cue_rest", "finished", "stopped", "stop", "carry_on"):
            yield (field,), getattr(step, field)


def _sample_flow_context(locale: LoadedLocale, saved: set[str]) -> dict[str, Any]:
    longest = max(
        locale.content.crisis.countries.values(),
        key=lambda c: sum(len(x.name) + len(x.contact) for x in c.contacts),
    )
    return {
        "answers": {key: SAMPLE_ANSWER for key in saved},
        "crisis_contacts": longest.contacts,
        "country_name": longest.name,
        "code": "P-99999",
        "trial": False,
    }


# -- templates and rendered text -------------------------------------------------------------


def _check_template(
    path: Path, line: int, text: str, allowed: frozenset[str], saved: set[str] | None = None
) -> Iterator[Problem]:
    if not is_template(text):
        return  # literal text: nothing to parse, no variables
    try:
        tree = ENVIRONMENT.parse(text)
    except TemplateSyntaxError as error:
        yield Problem(path, line + max(error.lineno - 1, 0), f"template error: {error.message}")
        return
    for name in sorted(meta.find_undeclared_variables(tree) - allowed):
        yield Problem(path, line, f"unknown template variable {name!r}; known: {', '.join(sorted(allowed))}")
    if saved is None:
        return
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if isinstance(target, nodes.Name) and target.name == "answers":
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(getattr(node, "arg", None), "value", None)
            if isinstance(key, str) and key not in saved:
                yield Problem(path, line, f"answers.{key} is not saved by any step of this flow")


def _check_rendered(path: Path, line: int, text: str, context: dict[str, Any]) -> Iterator[Problem]:
    try:
        rendered = render(text, context)
    except Exception as error:  # any template failure is a content problem to report
        yield Problem(path, line, f"cannot render: {error}")
        return
    if visible_length(rendered) > MAX_MESSAGE:
        yield Problem(
            path,
            line,
            f"text is {visible_length(rendered)} characters once rendered; Telegram allows {MAX_MESSAGE}",
        )
    html_problem = telegram_html.problem(rendered)
    if html_problem:
        yield Problem(path, line, html_problem)


# -- interface texts and translations ----------------------------------------------------------


def _check_ui(locale: LoadedLocale, *, required: bool) -> Iterator[Problem]:
    source = locale.sources.get("ui")
    if source is None:
        return
    texts = locale.content.ui
    if required:
        for key in sorted(set(UI_TEXTS) - set(texts)):
            yield Problem(source.path, 1, f"missing text {key!r}, which the coach needs")
    for key, count in ((WEEKDAYS, 7), (MONTHS, 12)):
        if key in texts and len([n for n in texts[key].split(",") if n.strip()]) != count:
            yield Problem(source.path, source.line_of((key,)), f"{key} needs {count} names, separated by commas")
    for key, text in texts.items():
        line = source.line_of((key,))
        if key not in UI_TEXTS:
            yield Problem(source.path, line, f"text {key!r} is not used by the coach (a typo?)")
            continue
        allowed = UI_TEXTS[key]
        yield from _check_template(source.path, line, text, allowed)
        sample: dict[str, Any] = {name: "9" * 10 for name in allowed}
        if "crisis_contacts" in allowed:
            sample.update(_sample_flow_context(locale, set()))
        yield from _check_rendered(source.path, line, text, sample)
        if key in BUTTON_TEXTS:
            try:
                label = render(text, {**sample, "title": "t" * 30})
            except Exception:  # reported by _check_rendered already
                continue
            if visible_length(label) > 64:
                yield Problem(source.path, line, "a button label may have at most 64 characters")


def _check_translation(default: LoadedLocale, other: LoadedLocale) -> Iterator[Problem]:
    ui_source = other.sources.get("ui")
    if ui_source is not None:
        for key in sorted(set(default.content.ui) - set(other.content.ui)):
            yield Problem(ui_source.path, 1, f"missing translation of {key!r} (in {default.content.locale})")
    for flow_id, flow in default.content.flows.items():
        translated = other.content.flows.get(flow_id)
        if translated is None:
            yield Problem(_folder(other), 1, f"missing translation of {flow_id} ({default.sources[flow_id].path.name})")
            continue
        source = other.sources[flow_id]
        theirs = {s.id for s in translated.steps}
        for step in flow.steps:
            if step.id not in theirs:
                yield Problem(source.path, 1, f"missing translation of step {step.id!r} of {flow_id}")
    for questionnaire_id, questionnaire in default.content.questionnaires.items():
        translation = other.content.questionnaires.get(questionnaire_id)
        if translation is None:
            yield Problem(_folder(other), 1, f"missing translation of questionnaire {questionnaire_id}")
        elif [i.id for i in translation.items] != [i.id for i in questionnaire.items]:
            path = other.questionnaire_sources[questionnaire_id].path
            yield Problem(path, 1, f"the items of {questionnaire_id} differ from the {default.content.locale} ones")


def _check_phrases(source: SourceFile, phrases: SafetyPhrases) -> Iterator[Problem]:
    """Every risk phrase is well formed and can match: written plainly, it is found, at its tier or a
    weightier one (not swallowed by an idiom, a negation, or a word that folds into something else)."""
    if not risk_language.language_known(phrases.language):
        yield Problem(source.path, source.line_of(("language",)), f"no lemmas for language {phrases.language!r}")
        return
    lists = {"not_risk": phrases.not_risk, "negations": phrases.negations}
    for key, patterns in lists.items():
        for index, pattern in enumerate(patterns):
            try:
                risk_language.parse(pattern)
            except risk_language.PhraseError as error:
                yield Problem(source.path, source.line_of((key, index)), f"{pattern!r}: {error}")
    for name, family in phrases.families.items():
        for index, pattern in enumerate(family.phrases):
            try:
                risk_language.parse(pattern)
            except risk_language.PhraseError as error:
                yield Problem(
                    source.path, source.line_of(("families", name, "phrases", index)), f"{pattern!r}: {error}"
                )
    try:
        reader = risk_language.reader_of(phrases)
    except risk_language.PhraseError:
        return  # reported above
    for name, family in phrases.families.items():
        for index, (text, phrase) in enumerate(reader.families_by_name[name].phrases):
            sample = " ".join(risk_language.examples(phrase)[0])
            found = reader.read(sample)
            if found is None or risk_language.TIERS.index(found.tier) > risk_language.TIERS.index(family.tier):
                yield Problem(
                    source.path,
                    source.line_of(("families", name, "phrases", index)),
                    f"{text!r} can never match as {family.tier!r}: written plainly ({sample!r}) it reads as "
                    f"{found.tier if found else 'nothing'} (an idiom, a negation or the third person takes it)",
                )
