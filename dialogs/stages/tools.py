"""Skills tools: the tools pages and each tool's page, past entries, saving an entry, planned
reminders with their Done / Not this time buttons, and the tools' step types (a rating scale,
ticking several choices, the paced breathing exercise)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from content.render import plain, render
from content.schema import FOLLOW_UP_ANSWER, BreathingStep, EndStep, Flow, PickStep, ScaleStep
from dialogs import progressions, steps
from dialogs.actions import Button, CancelEdits, SaveAnswer, SaveEntry, ScheduleEdits, Send, ShareEntry, TimedEdit
from dialogs.events import Command
from dialogs.programme import local_date
from dialogs.stage import Gate, Stage
from dialogs.state import PatientState
from dialogs.steps import StepType
from dialogs.turn import Choices, MenuButton, MenuNote, ProgressPart, Turn

TOOLS = "tools"  # the tools page, the main-menu choice that opens it, and tools/<tool>: a tool's page
TOOL, PAST, OPEN, BACK = "tool:", "past:", "open:", "back"  # choices on those pages
SHARE = "share:"  # Share with my guide on a past entry: share:<tool>:<entry>, not tied to a prompt
SHARE_LATEST = "shr:"  # the tool page's Share button, for its latest entry
TRY = "try:"  # a reminder's follow-up button (start a try, rate the activity): try:<tool>:<entry>, not tied to a prompt
FOR_TRY = "_for_try"  # a follow-up's answers: which reminder of the entry it answers
PLANNED = "_planned"  # how many reminders a tool with a follow-up planned for one entry
REVIEWS = "staying-well-reviews"  # the group of the reviews planned after the course, cancelled by /stop or a new plan
COURSE_WEEKS_AFTER_LAST_LESSON = 7  # the course ends a week after the last lesson opens (day 56)
PACING_BASELINE = ("base_1", "base_2", "base_3")  # the pacing plan's baseline days
LOG = "log:"  # Done / Not this time on a planned reminder: log:<tool>:<entry>:<done|not>, not tied to a prompt
TYPED = "typed:"  # an item the patient typed on a pick step, beside the ticked options
REMINDERS = "reminders"  # the group of a patient's planned reminders, cancelled by /stop
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEEP_ENTRIES = 20  # recent entries per tool kept in the state for "My past entries"
SHOW_ENTRIES = 5


def exercise_group(prompt: int) -> str:
    """The timed edits of the breathing exercise shown with this prompt."""
    return f"breathing-{prompt}"


class ScaleType(StepType[ScaleStep]):
    """A rating on buttons in rows; a typed number works too."""

    def prompt(self, turn: Turn, flow: Flow, step: ScaleStep, prompt: int) -> None:
        turn.state = replace(turn.state, awaiting="button")
        values = [(str(v), str(v)) for v in step.values()]
        turn.send(turn.text(step.text), values, prompt, per_row=6 if len(values) > 6 else len(values))

    def tap(self, turn: Turn, flow: Flow, step: ScaleStep, choice: str, message_id: int | None) -> None:
        if not (choice.lstrip("-").isdigit() and int(choice) in step.values()):
            turn.toast("stale_button")
            return
        turn.toast(None)
        turn.mark_chosen(message_id, turn.text(step.text), choice)
        turn.save(flow, step, step.save_as, choice)
        steps.go_on(turn, flow, step)

    def typed(self, turn: Turn, flow: Flow, step: ScaleStep, text: str, message_id: int | None) -> bool:
        number = text.strip().rstrip("%")
        if not (number.lstrip("-").isdigit() and step.min <= int(number) <= step.max):
            return False
        turn.save(flow, step, step.save_as, str(int(number)))
        steps.go_on(turn, flow, step)
        return True


class PickType(StepType[PickStep]):
    """Several choices ticked on and off by editing the same message, then Done; typed items are added."""

    def prompt(self, turn: Turn, flow: Flow, step: PickStep, prompt: int) -> None:
        turn.state = replace(turn.state, awaiting="button")
        text, picks = self.view(turn, step)
        turn.send(text, picks, prompt)

    @staticmethod
    def view(turn: Turn, step: PickStep) -> tuple[str, Choices]:
        picked = turn.state.picking
        choices = [(("✅ " if o.id in picked else "▫️ ") + plain(turn.text(o.label)), o.id) for o in step.options]
        choices.append((turn.text(step.done), "done"))
        text = turn.text(step.text)
        typed = [p.removeprefix(TYPED) for p in picked if p.startswith(TYPED)]
        if typed:
            text += "\n\n" + turn.ui("pick_added", items=typed)
        return text, choices

    def tap(self, turn: Turn, flow: Flow, step: PickStep, choice: str, message_id: int | None) -> None:
        labels = {o.id: plain(turn.text(o.label)) for o in step.options}
        if choice == "done":
            chosen = [labels.get(p, p.removeprefix(TYPED)) for p in turn.state.picking]
            if not chosen:
                turn.toast("pick_something")
                return
            turn.toast(None)
            answer = "; ".join(chosen)
            turn.state = replace(turn.state, picking=())
            turn.mark_chosen(message_id, turn.text(step.text), answer)
            turn.save(flow, step, step.save_as, answer)
            steps.go_on(turn, flow, step)
        elif choice in labels:
            turn.toast(None)
            picked = turn.state.picking
            picked = tuple(p for p in picked if p != choice) if choice in picked else (*picked, choice)
            turn.state = replace(turn.state, picking=picked)
            text, choices = self.view(turn, step)
            turn.edit(message_id, text, choices)
        else:
            turn.toast("stale_button")

    def typed(self, turn: Turn, flow: Flow, step: PickStep, text: str, message_id: int | None) -> bool:
        if not text.strip():
            return False
        item = TYPED + " ".join(text.split())[:200]
        if item not in turn.state.picking:
            turn.state = replace(turn.state, picking=(*turn.state.picking, item))
        turn.show_current()
        return True


class BreathingType(StepType[BreathingStep]):
    """One message, its cue rewritten on a timer (in, out, rest) for the minutes chosen, with Stop."""

    def prompt(self, turn: Turn, flow: Flow, step: BreathingStep, prompt: int) -> None:
        turn.state = replace(turn.state, awaiting="button")
        chosen = turn.state.answers.get(flow.id, {}).get(step.minutes_from, "3")
        minutes = min(max(int(chosen) if chosen.isdigit() else 3, 1), 10)
        head = turn.text(step.text)
        stop = [(turn.text(step.stop), "stop")]
        cycle = step.breathe_in + step.breathe_out + step.rest
        breaths = max(1, minutes * 60 // cycle)

        def cue(text: str, breath: int) -> str:
            return f"{head}\n\n<b>{turn.text(text)}</b>\n{turn.ui('breath_count', number=breath, total=breaths)}"

        group = exercise_group(turn.state.prompt)
        edits: list[TimedEdit] = []
        buttons = turn.buttons(stop, prompt)
        for breath in range(1, breaths + 1):
            start = (breath - 1) * cycle
            if breath > 1:
                edits.append(TimedEdit(start, cue(step.cue_in, breath), buttons))
            edits.append(TimedEdit(start + step.breathe_in, cue(step.cue_out, breath), buttons))
            if step.rest:
                edits.append(TimedEdit(start + step.breathe_in + step.breathe_out, cue(step.cue_rest, breath), buttons))
        finished = f"{head}\n\n{turn.text(step.finished)}"
        edits.append(
            TimedEdit(breaths * cycle, finished, turn.buttons([(turn.text(step.carry_on), "carry-on")], prompt))
        )
        turn.send(cue(step.cue_in, 1), stop, prompt, ref=group)
        turn.actions.append(ScheduleEdits(group, group, tuple(edits)))

    def tap(self, turn: Turn, flow: Flow, step: BreathingStep, choice: str, message_id: int | None) -> None:
        if choice not in ("stop", "carry-on"):
            turn.stale()
            return
        turn.toast(None)
        head = turn.text(step.text)
        if choice == "stop":
            turn.actions.append(CancelEdits(exercise_group(turn.state.prompt)))
            turn.edit(message_id, f"{head}\n\n{turn.text(step.stopped)}")
        else:
            turn.edit(message_id, f"{head}\n\n{turn.text(step.finished)}")
        turn.save(flow, step, "completed", "yes" if choice == "carry-on" else "stopped")
        steps.go_on(turn, flow, step)

    def typed(self, turn: Turn, flow: Flow, step: BreathingStep, text: str, message_id: int | None) -> bool:
        turn.say("breathing_in_progress")
        return True


class ToolsStage(Stage):
    name = "tools"
    pages = frozenset({TOOLS, TOOLS + "/"})
    flow_kinds = frozenset({"tool"})
    step_types: ClassVar[Mapping[str, StepType[Any]]] = {
        "scale": ScaleType(),
        "pick": PickType(),
        "breathing": BreathingType(),
    }
    commands: ClassVar[Mapping[str, Gate]] = {"tools": Gate.CONSENTED}
    buttons = frozenset({LOG, SHARE, TRY})
    outcomes = frozenset({"entry_saved", "try_logged"})
    menu_choices = frozenset({TOOLS})

    def on_command(self, turn: Turn, command: Command) -> None:
        turn.show_menu(page=TOOLS)

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.toast(None)
        turn.clear_buttons(message_id, turn.ui("menu"))
        turn.show_menu(page=TOOLS)

    # -- the pages ------------------------------------------------------------------------

    def page(self, turn: Turn, page: str) -> tuple[str, Choices] | None:
        if page == TOOLS:
            tools = self.unlocked(turn)
            choices = [(flow.title, TOOL + flow.id) for flow in tools]
            choices.append((turn.ui("menu_back"), BACK))
            return turn.ui("tools_intro" if tools else "tools_locked"), choices
        tool = turn.content.flows.get(page.removeprefix(TOOLS + "/"))
        if tool is None:
            return None
        count = len(turn.state.entries.get(tool.id, []))
        text = f"<b>{turn.text(tool.title)}</b>\n" + turn.ui("tool_page", count=count)
        choices = [(turn.ui("tool_start"), OPEN + tool.id)]
        if count:
            latest = turn.state.entries[tool.id][-1]
            if not latest.get("_shared"):
                number = latest.get("_number", str(count))
                choices.append((turn.ui("tool_share_latest", number=number), SHARE_LATEST + tool.id))
            choices.append((turn.ui("tool_past", count=count), PAST + tool.id))
        choices.append((turn.ui("menu_back"), BACK))
        return text, choices

    def page_tap(self, turn: Turn, page: str, choice: str, message_id: int | None) -> None:
        if page == TOOLS and choice == BACK:
            turn.toast(None)
            turn.show_menu()
        elif page != TOOLS and choice == BACK:
            turn.toast(None)
            turn.show_menu(page=TOOLS)
        elif page == TOOLS and choice.startswith(TOOL) and self.is_unlocked(turn, choice.removeprefix(TOOL)):
            turn.toast(None)
            turn.show_menu(page=f"{TOOLS}/{choice.removeprefix(TOOL)}")
        elif page == f"{TOOLS}/{choice.removeprefix(PAST)}" and choice.startswith(PAST):
            turn.toast(None)
            self.past_entries(turn, turn.content.flows[choice.removeprefix(PAST)])
        elif page == f"{TOOLS}/{choice.removeprefix(SHARE_LATEST)}" and choice.startswith(SHARE_LATEST):
            tool_id = choice.removeprefix(SHARE_LATEST)
            latest = turn.state.entries.get(tool_id, [{}])[-1]
            if self.share(turn, tool_id, latest.get("_number", "")):
                turn.show_menu(page=page)
        elif page == f"{TOOLS}/{choice.removeprefix(OPEN)}" and self.is_unlocked(turn, choice.removeprefix(OPEN)):
            tool = turn.content.flows[choice.removeprefix(OPEN)]
            turn.toast(None)
            turn.clear_buttons(message_id, f"<b>{turn.text(tool.title)}</b>")
            turn.state = replace(turn.state, answers={**turn.state.answers, tool.id: {}}, picking=())
            steps.go(turn, tool, tool.first)
        else:
            turn.stale()

    def past_entries(self, turn: Turn, tool: Flow) -> None:
        """The latest entries, newest first, one message each, with Share with my guide on those not shared."""
        for entry in reversed(turn.state.entries.get(tool.id, [])[-SHOW_ENTRIES:]):
            number = entry.get("_number", "?")
            button = Button(plain(turn.ui("tool_share")), f"{SHARE}{tool.id}:{number}")
            share = () if entry.get("_shared") else (button,)
            turn.actions.append(Send(self.entry_text(turn, tool, entry), share))

    def entry_text(self, turn: Turn, tool: Flow, entry: Mapping[str, str]) -> str:
        """One past entry as the patient reads it: its number and day, its summary, how the try went."""
        header = turn.ui("tool_entry_header", number=entry.get("_number", "?"), date=entry.get("_saved", ""))
        body = self.entry_summary(turn, tool, entry)
        log = next((v for k, v in reversed(list(entry.items())) if k.startswith("_log")), None)
        if log:
            body += "\n" + turn.ui("log_done" if log == "done" else "log_not")
        return f"{header}\n{body}"

    @staticmethod
    def entry_summary(turn: Turn, tool: Flow, entry: Mapping[str, str]) -> str:
        return render(tool.summary or "", {**turn.template_context(), "answers": entry})

    def share(self, turn: Turn, tool_id: str, number: str) -> bool:
        """Share a saved entry with the guide, once: the coach puts it in their topic as a card.
        Returns whether it was shared now."""
        tool = turn.content.flows.get(tool_id)
        entries = turn.state.entries.get(tool_id, [])
        entry = next((e for e in entries if e.get("_number") == number), None)
        if tool is None or tool.kind != "tool" or entry is None:
            turn.toast("stale_button")
            return False
        if entry.get("_shared"):
            turn.toast("share_already")
            return False
        turn.toast(None)
        shared = {**entry, "_shared": "yes"}
        updated = [shared if e is entry else e for e in entries]
        turn.state = replace(turn.state, entries={**turn.state.entries, tool_id: updated})
        summary = self.entry_summary(turn, tool, entry)
        turn.actions.append(ShareEntry(tool.id, tool.title, number, entry.get("_saved", ""), summary))
        return True

    # -- which tools are open -------------------------------------------------------------

    @staticmethod
    def tools(turn: Turn) -> list[Flow]:
        return sorted(
            (f for f in turn.content.flows.values() if f.kind == "tool" and f.follow_up_of is None),
            key=lambda f: (f.unlocked_by or 0, f.title),
        )

    def unlocked(self, turn: Turn) -> list[Flow]:
        """A tool opens once the lesson that unlocks it is started (the highest started or finished)."""
        place = turn.state.lesson_place
        flows = turn.content.flows
        current = flows[place.flow].number or 0 if place and place.flow in flows else 0
        reached = max([current, *turn.state.lessons_done])
        return [tool for tool in self.tools(turn) if (tool.unlocked_by or 0) <= reached]

    def is_unlocked(self, turn: Turn, flow_id: str) -> bool:
        return any(tool.id == flow_id for tool in self.unlocked(turn))

    # -- an entry, and its reminder -------------------------------------------------------

    def on_outcome(self, turn: Turn, flow: Flow, step: EndStep) -> None:
        if step.outcome == "try_logged":
            self.try_logged(turn, flow)
            return
        earlier = turn.state.entries.get(flow.id, [])
        number = int(earlier[-1].get("_number", len(earlier))) + 1 if earlier else 1
        entry = {
            **turn.state.answers.get(flow.id, {}),
            "_saved": turn.day(local_date(turn.now, turn.state.timezone)),
            "_number": str(number),
        }
        if flow.progression == "ladder":
            entry = progressions.start_ladder(entry)
        elif flow.progression == "pacing":
            entry = self.plan_pacing(turn, entry)
        turn.actions.append(SaveEntry(flow.id, entry))
        if flow.reminder is not None:
            entry = self.plan_reminder(turn, flow, entry, number)
        if flow.review is not None:
            self.plan_reviews(turn, flow, entry)
        recent = [*earlier, entry][-KEEP_ENTRIES:]
        turn.state = replace(turn.state, entries={**turn.state.entries, flow.id: recent}, picking=())
        turn.show_menu(page=f"{TOOLS}/{flow.id}")

    @staticmethod
    def reminder_time(turn: Turn, day: str, time_of_day: str) -> datetime:
        """The next moment matching the patient's plan, in their time zone (soon, if it has passed)."""
        zone = ZoneInfo(turn.state.timezone)
        local_now = turn.now.astimezone(zone)
        hours, _, minutes = turn.full_content.program.times_of_day.get(time_of_day, "09:30").partition(":")
        date = local_now.date()
        if day == "tomorrow":
            date += timedelta(days=1)
        elif day in WEEKDAYS:
            date += timedelta(days=(WEEKDAYS.index(day) - local_now.weekday()) % 7)
        moment = datetime.combine(date, time(int(hours), int(minutes)), tzinfo=zone)
        if moment <= local_now:
            moment = moment + timedelta(days=7) if day in WEEKDAYS else local_now + timedelta(minutes=5)
        return moment.astimezone(UTC)

    def plan_reminder(
        self, turn: Turn, flow: Flow, entry: dict[str, str], number: int, when: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The reminder of a plan, at the day and time the patient chose (`when`: the answers that
        say so, the entry's own by default). A tool with a follow-up offers it first (start the
        try, rate the activity), and each reminder of the same entry logs on its own (`_planned`
        counts them). Returns the entry, counted."""
        spec = flow.reminder
        assert spec is not None
        chosen = when if when is not None else entry
        at = self.reminder_time(turn, chosen.get(spec.day, "today"), chosen.get(spec.time, "morning"))
        text = render(spec.text, {**turn.template_context(), "answers": entry})
        not_this_time = plain(turn.ui("log_not"))
        if flow.follow_up is not None:
            planned = entry.get(PLANNED, "0")
            attempt = int(planned) + 1 if planned.isdigit() else 1
            entry = {**entry, PLANNED: str(attempt)}
            data = f"{LOG}{flow.id}:{number}-{attempt}:"
            buttons = (
                Button(plain(flow.follow_up.label), f"{TRY}{flow.id}:{number}-{attempt}"),
                Button(not_this_time, data + "not"),
            )
        else:
            data = f"{LOG}{flow.id}:{number}:"
            buttons = (Button(plain(turn.ui("log_done")), data + "done"), Button(not_this_time, data + "not"))
        turn.actions.append(Send(text, buttons, at=at, group=REMINDERS))
        local = at.astimezone(ZoneInfo(turn.state.timezone))
        turn.say("reminder_set", date=turn.day(local.date()), time=f"{local:%H:%M}")
        return entry

    def on_button(self, turn: Turn, data: str, message_id: int | None) -> None:
        if data.startswith(TRY):
            self.start_follow_up(turn, data.removeprefix(TRY), message_id)
            return
        if data.startswith(SHARE):
            tool_id, _, number = data.removeprefix(SHARE).partition(":")
            if self.share(turn, tool_id, number):
                tool, entries = turn.content.flows[tool_id], turn.state.entries[tool_id]
                entry = next(e for e in entries if e.get("_number") == number)
                turn.mark_chosen(message_id, self.entry_text(turn, tool, entry), turn.ui("tool_share"))
            return
        self.log(turn, data, message_id)

    def log(self, turn: Turn, data: str, message_id: int | None) -> None:
        """Done / Not this time on a planned reminder: logged once, whenever it is tapped."""
        tool_id, _, rest = data.removeprefix(LOG).partition(":")
        number, _, outcome = rest.partition(":")
        number, _, attempt = number.partition("-")  # a tool with a follow-up: each reminder of an entry logs once
        key = f"_log{attempt}" if attempt else "_log"
        tool = turn.content.flows.get(tool_id)
        entries = turn.state.entries.get(tool_id, [])
        entry = next((e for e in entries if e.get("_number") == number), None)
        if tool is None or tool.reminder is None or entry is None or outcome not in ("done", "not"):
            turn.toast("stale_button")
            return
        if entry.get(key):
            turn.toast("already_noted")
            return
        logged = {**entry, key: outcome}
        if outcome == "not" and tool.progression == "ladder" and entry.get(progressions.CLIMBED) != "top":
            logged = self.plan_reminder(turn, tool, logged, int(number), when={tool.reminder.day: "tomorrow",
                                        tool.reminder.time: entry.get(tool.reminder.time, "morning")})  # fmt: skip
        updated = [logged if e is entry else e for e in entries]
        turn.state = replace(turn.state, entries={**turn.state.entries, tool_id: updated})
        turn.actions.append(SaveAnswer(tool_id, "reminder", f"entry-{number}", outcome))
        turn.toast("log_thanks_done" if outcome == "done" else "log_thanks_not")
        label = turn.ui("log_done" if outcome == "done" else "log_not")
        turn.mark_chosen(message_id, render(tool.reminder.text, {**turn.template_context(), "answers": entry}), label)

    def stopped(self, turn: Turn) -> None:
        turn.actions.append(CancelEdits(REMINDERS))
        turn.actions.append(CancelEdits(REVIEWS))

    # -- tools that progress (issue 15) ---------------------------------------------------

    def start_follow_up(self, turn: Turn, rest: str, message_id: int | None) -> None:
        """A reminder's first button: open the tool's follow-up flow for that entry (a try on the
        ladder starts with the fear before it; a pleasant activity is rated after it)."""
        tool_id, _, number = rest.partition(":")
        number, _, attempt = number.partition("-")
        tool = turn.content.flows.get(tool_id)
        entry = next((e for e in turn.state.entries.get(tool_id, []) if e.get("_number") == number), None)
        follow_up = turn.content.flows.get(tool.follow_up.flow) if tool and tool.follow_up else None
        if tool is None or entry is None or follow_up is None:
            turn.toast("stale_button")
            return
        turn.toast(None)
        if tool.reminder is not None and message_id is not None:
            reminder = render(tool.reminder.text, {**turn.template_context(), "answers": entry})
            turn.mark_chosen(message_id, reminder, plain(tool.follow_up.label if tool.follow_up else ""))
        seed = {k: v for k, v in entry.items() if not k.startswith("_")}
        seed[FOLLOW_UP_ANSWER] = number
        seed[FOR_TRY] = attempt
        turn.state = replace(turn.state, answers={**turn.state.answers, follow_up.id: seed}, picking=())
        steps.go(turn, follow_up, follow_up.first)

    def try_logged(self, turn: Turn, flow: Flow) -> None:
        """The end of a follow-up: record the try on its tool's entry, and plan the next one from it."""
        answers = turn.state.answers.get(flow.id, {})
        tool = turn.content.flows.get(flow.follow_up_of or "")
        entries = turn.state.entries.get(tool.id, []) if tool else []
        number = answers.get(FOLLOW_UP_ANSWER, "")
        entry = next((e for e in entries if e.get("_number") == number), None)
        if tool is None or entry is None:
            turn.show_menu(page=TOOLS)
            return
        own = {k: v for k, v in answers.items() if k not in entry or k == FOLLOW_UP_ANSWER}
        turn.actions.append(SaveEntry(flow.id, {**own, "_saved": turn.day(local_date(turn.now, turn.state.timezone))}))
        turn.actions.append(SaveAnswer(tool.id, "reminder", f"entry-{number}", "done"))
        updated: dict[str, str] = {**entry, f"_log{answers.get(FOR_TRY, '')}": "done"}
        if tool.progression == "ladder":
            progress = progressions.record_try(entry, _rating(answers, "fear_before"), _rating(answers, "fear_after"))
            updated = progress.entry
            turn.say(progress.advice, rung=updated.get(progressions.RUNG, ""), goal=updated.get("goal", ""))
        else:
            for key in ("enjoyment", "mood"):
                if key in answers:
                    updated[f"_{key}"] = answers[key]
        if tool.reminder is not None and tool.progression == "ladder" and updated.get(progressions.CLIMBED) != "top":
            updated = self.plan_reminder(turn, tool, updated, int(number) if number.isdigit() else 0, when=answers)
        turn.state = replace(
            turn.state, entries={**turn.state.entries, tool.id: [updated if e is entry else e for e in entries]}
        )
        turn.show_menu(page=f"{TOOLS}/{tool.id}")

    def plan_pacing(self, turn: Turn, entry: dict[str, str]) -> dict[str, str]:
        """A pacing plan: its quota from the baseline days, and its increases on a schedule, each
        announced on its day (in the reminders group /stop cancels)."""
        in_minutes = entry.get("unit", "minutes") == "minutes"
        start = progressions.quota(progressions.baseline_of(entry, PACING_BASELINE), in_minutes)
        every = int(entry.get("every", "7")) if entry.get("every", "7").isdigit() else 7
        first = local_date(turn.now, turn.state.timezone)
        plan = progressions.schedule(start, first, every, in_minutes)
        unit = turn.ui("pacing_minutes") if in_minutes else entry.get("unit_name", "")
        lines = [turn.ui("pacing_step_line", date=turn.day(day), quota=amount, unit=unit) for day, amount in plan]
        planned = {
            **entry,
            progressions.QUOTA: str(start),
            progressions.STEP_UP: str(progressions.step_up(start, in_minutes)),
            progressions.STEP_UP_EVERY: str(every),
            progressions.SCHEDULE: "; ".join(plain(line) for line in lines),
            "pacing_unit": unit,
        }
        hours, _, minutes = turn.full_content.program.times_of_day.get(entry.get("time", "morning"), "09:30").partition(
            ":"
        )
        zone = ZoneInfo(turn.state.timezone)
        for day, amount in plan:
            at = datetime.combine(day, time(int(hours), int(minutes)), tzinfo=zone).astimezone(UTC)
            text = turn.ui("pacing_step_up", task=entry.get("task", ""), quota=amount, unit=unit)
            turn.actions.append(Send(text, at=at, group=REMINDERS))
        turn.say("pacing_plan", task=entry.get("task", ""), quota=start, unit=unit, steps=lines)
        return planned

    def plan_reviews(self, turn: Turn, flow: Flow, entry: dict[str, str]) -> None:
        """Reviews of the plan once the course is over (a new plan replaces the old one's)."""
        spec = flow.review
        assert spec is not None
        consented = turn.state.consented_at or turn.now
        last_lesson = max(release.opens_on_day for release in turn.full_content.program.lessons)
        end = local_date(consented, turn.state.timezone) + timedelta(days=last_lesson + COURSE_WEEKS_AFTER_LAST_LESSON)
        hours, _, minutes = turn.full_content.program.times_of_day.get(spec.time, "09:30").partition(":")
        zone = ZoneInfo(turn.state.timezone)
        turn.actions.append(CancelEdits(REVIEWS))
        text = render(spec.text, {**turn.template_context(), "answers": entry})
        first = None
        for n in range(1, spec.times + 1):
            at = datetime.combine(
                end + timedelta(days=spec.every_days * n), time(int(hours), int(minutes)), tzinfo=zone
            )
            if at.astimezone(UTC) <= turn.now:
                continue
            first = first or at
            turn.actions.append(Send(text, at=at.astimezone(UTC), group=REVIEWS))
        if first is not None:
            turn.say("review_set", date=turn.day(first.date()), every=spec.every_days)

    def after(self, turn: Turn, before: PatientState) -> None:
        """Leaving a running breathing exercise any other way (menu, /stop, a command) stops its cues."""
        flow = turn.content.flows.get(before.flow or "")
        if flow is None or not before.step or not flow.has_step(before.step):
            return
        if not isinstance(flow.step(before.step), BreathingStep):
            return
        state = turn.state
        moved = (state.flow, state.step, state.prompt) != (before.flow, before.step, before.prompt)
        group = exercise_group(before.prompt)
        if moved and not any(isinstance(a, CancelEdits) and a.group == group for a in turn.actions):
            turn.actions.append(CancelEdits(group))

    # -- what it adds to the menu and /progress ---------------------------------------------

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        return [MenuButton(40, turn.ui("menu_tools"), TOOLS)] if self.unlocked(turn) else []

    def progress(self, turn: Turn) -> Sequence[ProgressPart]:
        used = [(tool.title, turn.state.entries.get(tool.id, [])) for tool in self.tools(turn)]
        if not any(entries for _, entries in used):
            return []
        lines = [""]
        for title, entries in used:
            if entries:
                done = sum(1 for e in entries for k, v in e.items() if k.startswith("_log") and v == "done")
                lines.append(turn.ui("progress_tool", title=title, count=len(entries), done=done))
        return [ProgressPart(20, tuple(lines))]


def _rating(answers: Mapping[str, str], key: str) -> int:
    value = answers.get(key, "")
    return int(value) if value.lstrip("-").isdigit() else 0
