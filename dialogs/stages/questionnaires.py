"""Questionnaires: the occasions they are given on (baseline, week-N, post ...), announced when
one opens and reminded once; one item per message with Back; risk answers; scoring, the result
for the patient and the guides, stepped care; the questionnaires page and the main menu's button."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from content.render import plain
from content.schema import Questionnaire
from dialogs import occasions, scoring, stepped_care
from dialogs.actions import Button, ChartSeries, FlagForReview, NotifyStaff, RaiseAlert, SaveResult, Send, SendChart
from dialogs.events import Due
from dialogs.programme import local_date
from dialogs.stage import LESSON_CHOICE, Stage
from dialogs.state import Status, Survey
from dialogs.turn import Choices, MenuButton, MenuNote, ProgressPart, Turn

# Stored names, kept for compatibility: they live in dialog_state rows, due_event rows and the
# buttons of patients' old messages, from when an occasion was called a "check-in".
QUESTIONNAIRE_FLOW = "questionnaire"  # the flow while an item is asked (`step` is <questionnaire>/<item>)
QUESTIONNAIRES = "checkin"  # the menu page (and main-menu choice) of a due or unfinished questionnaire
OCCASION_START = "checkin:"  # the Start button of "your questionnaires are ready": checkin:<occasion>, no prompt
OCCASION_OPENED, OCCASION_OVERDUE = "questionnaire", "questionnaire_overdue"  # due kinds, from the coach's sweep

ANSWER, ITEM_BACK = "a:", "back"  # choices on an item: a:<value>, and back one item
KEEP_SCORES = 30  # results per questionnaire kept in the state for /progress, charts and stepped care


class QuestionnairesStage(Stage):
    name = "questionnaires"
    pages = frozenset({QUESTIONNAIRES})
    own_flows = frozenset({QUESTIONNAIRE_FLOW})
    buttons = frozenset({OCCASION_START})
    due_kinds = frozenset({OCCASION_OPENED, OCCASION_OVERDUE})
    menu_choices = frozenset({QUESTIONNAIRES})

    def tidy(self, turn: Turn) -> None:
        """A questionnaire in progress that the content no longer has (or has fewer items) is let go."""
        survey = turn.state.survey
        if survey is None:
            if turn.state.flow == QUESTIONNAIRE_FLOW:
                turn.state = replace(turn.state, flow=None, step=None)
            return
        questionnaire = turn.content.questionnaires.get(survey.questionnaire)
        if questionnaire is None or survey.index >= len(questionnaire.items):
            asked = turn.state.flow == QUESTIONNAIRE_FLOW
            flow, step = (None, None) if asked else (turn.state.flow, turn.state.step)
            turn.state = replace(turn.state, survey=None, flow=flow, step=step)

    # -- occasions ------------------------------------------------------------------------

    @staticmethod
    def due_now(turn: Turn) -> list[occasions.DueOccasion]:
        """Occasions open now with questionnaires left (that this language has)."""
        state = turn.state
        if state.status != Status.ACTIVE:
            return []
        found = occasions.due(
            turn.full_content.program, state.consented_at, state.timezone, turn.now, state.surveys_done
        )
        known = turn.content.questionnaires
        return [
            replace(d, remaining=tuple(q for q in d.remaining if q in known))
            for d in found
            if any(q in known for q in d.remaining)
        ]

    def on_due(self, turn: Turn, event: Due) -> None:
        """An occasion opened ("your questionnaires are ready", once), or is still not done days
        later (one gentle reminder); both carry the same Start button."""
        opened = event.kind == OCCASION_OPENED
        if opened and event.key in turn.state.announced:
            return
        ready = next((d for d in self.due_now(turn) if d.occasion.key == event.key), None)
        survey = turn.state.survey
        if ready is None or (survey is not None and survey.occasion == event.key):
            return
        if opened:
            told = event.key
        elif occasions.needs_reminder(ready, local_date(turn.now, turn.state.timezone), turn.state.announced):
            told = occasions.reminded_key(event.key)
        else:
            return
        told_now: tuple[str, ...] = (told,)
        today = local_date(turn.now, turn.state.timezone)
        if opened and occasions.needs_reminder(ready, today, (*turn.state.announced, told)):
            # Told so late (the scheduler was down) that its reminder is due too: one message, not two.
            told_now = (told, occasions.reminded_key(event.key))
        turn.state = replace(turn.state, announced=(*turn.state.announced, *told_now))
        label = plain(turn.ui("questionnaires_start"))
        text = turn.ui("questionnaires_ready" if opened else "questionnaires_reminder", count=len(ready.remaining))
        turn.actions.append(Send(text, (Button(label, OCCASION_START + event.key),), at=turn.now))

    def on_button(self, turn: Turn, data: str, message_id: int | None) -> None:
        """Start, on "your questionnaires are ready": works whenever tapped, unless the occasion is done."""
        key = data.removeprefix(OCCASION_START)
        survey = turn.state.survey
        due = next((d for d in self.due_now(turn) if d.occasion.key == key), None)
        occasion = occasions.find(turn.full_content.program, key)
        count = len(due.remaining) if due else len(occasion.give) if occasion else 1
        announced = turn.ui("questionnaires_ready", count=count)
        if survey is None and due is None:
            turn.toast("questionnaires_already_done")
            turn.clear_buttons(message_id, announced)
            return
        turn.toast(None)
        turn.mark_chosen(message_id, announced, turn.ui("questionnaires_start"))
        if survey is not None:
            self.ask_item(turn, fresh=True)
        elif due is not None:
            self.begin(turn, due)

    def on_menu_choice(self, turn: Turn, choice: str, message_id: int | None) -> None:
        turn.toast(None)
        turn.clear_buttons(message_id, turn.ui("menu"))
        if turn.state.survey is not None:
            self.ask_item(turn, fresh=True)
        elif due := self.due_now(turn):
            self.begin(turn, due[0])
        else:
            turn.say("questionnaires_nothing_due")
            turn.show_menu()

    # -- asking ---------------------------------------------------------------------------

    @staticmethod
    def questionnaire(turn: Turn) -> tuple[Survey, Questionnaire]:
        survey = turn.state.survey
        assert survey is not None
        return survey, turn.content.questionnaires[survey.questionnaire]

    def begin(self, turn: Turn, due: occasions.DueOccasion) -> None:
        name, *rest = due.remaining
        turn.state = replace(turn.state, survey=Survey(due.occasion.key, name, queue=tuple(rest)))
        turn.send(turn.text(turn.content.questionnaires[name].intro))
        self.ask_item(turn, fresh=True)

    def ask_item(self, turn: Turn, *, fresh: bool) -> None:
        """One item per message: where we are ("3 of 9"), the stem, the item, its answers and Back."""
        survey, questionnaire = self.questionnaire(turn)
        item = questionnaire.items[survey.index]
        prompt = turn.next_prompt() if fresh else turn.state.prompt
        step = f"{questionnaire.id}/{item.id}"[:64]
        turn.state = replace(turn.state, flow=QUESTIONNAIRE_FLOW, step=step, awaiting="button")
        choices = [(option.label, f"{ANSWER}{option.value}") for option in questionnaire.answers(item)]
        if survey.index > 0:
            choices.append((turn.ui("survey_back"), ITEM_BACK))
        turn.send(self.item_text(turn), choices, prompt, per_row=6 if item.scale else 1)

    def item_text(self, turn: Turn) -> str:
        survey, questionnaire = self.questionnaire(turn)
        item = questionnaire.items[survey.index]
        parts = [turn.ui("survey_progress", number=survey.index + 1, total=len(questionnaire.items))]
        if questionnaire.stem:
            parts.append(turn.text(questionnaire.stem))
        parts.append(f"<b>{turn.text(item.text)}</b>")
        if scale := item.scale:
            parts.append(turn.ui("survey_scale", min=scale.min, max=scale.max, low=scale.low, high=scale.high))
        return "\n\n".join(parts)

    def flow_show(self, turn: Turn, *, fresh: bool) -> None:
        if turn.state.survey is not None:
            self.ask_item(turn, fresh=fresh)
        elif turn.state.status == Status.NEW:
            turn.start()
        else:
            turn.show_menu()

    def flow_text(self, turn: Turn, text: str, message_id: int | None) -> bool:
        turn.say("survey_reprompt")
        turn.show_current()
        return True

    def flow_tap(self, turn: Turn, choice: str, message_id: int | None) -> None:
        survey, questionnaire = self.questionnaire(turn)
        item = questionnaire.items[survey.index]
        if choice == ITEM_BACK and survey.index > 0:
            turn.toast(None)
            turn.clear_buttons(message_id, self.item_text(turn))
            turn.state = replace(turn.state, survey=replace(survey, index=survey.index - 1))
            self.ask_item(turn, fresh=True)
            return
        value = choice.removeprefix(ANSWER) if choice.startswith(ANSWER) else None
        option = next((o for o in questionnaire.answers(item) if str(o.value) == value), None)
        if option is None:
            turn.toast("stale_button")
            return
        turn.toast(None)
        turn.mark_chosen(message_id, self.item_text(turn), option.label)
        survey = replace(survey, answers={**survey.answers, item.id: option.value})
        survey = self.watch_answers(turn, questionnaire, survey, option.label)
        if survey.index + 1 < len(questionnaire.items):
            turn.state = replace(turn.state, survey=replace(survey, index=survey.index + 1))
            self.ask_item(turn, fresh=True)
        else:
            turn.state = replace(turn.state, survey=survey)
            self.finish(turn)

    @staticmethod
    def watch_answers(turn: Turn, questionnaire: Questionnaire, survey: Survey, label: str) -> Survey:
        """A risk answer (PHQ-9 item 9 above 0): the safety message at once and an alert to the guides;
        raised once per questionnaire, again only if a later answer is more urgent."""
        rule = scoring.risk(questionnaire, survey.answers)
        if (
            rule is not None
            and rule.item == "phq9_9"
            and survey.answers.get(rule.item) == 1
            and turn.full_content.program.phq9_item9_several_days == "review"
        ):
            rule = rule.model_copy(update={"level": "review"})  # the site's choice (program.yaml)
        if rule is None or scoring.LEVELS[rule.level] <= scoring.LEVELS.get(survey.alerted or "", 0):
            return survey
        turn.actions.append(Send(turn.ui("survey_safety_message", **turn.crisis_context()), urgent=True))
        reason = f"{rule.reason}: answered “{plain(label)}” ({questionnaire.title}, {survey.occasion})"
        turn.actions.append(RaiseAlert(rule.level, reason))
        return replace(survey, alerted=rule.level)

    # -- results --------------------------------------------------------------------------

    def finish(self, turn: Turn) -> None:
        """Scored and kept; the band's message for the patient, a line for the guides; then the next
        questionnaire of the occasion, or the menu."""
        survey, questionnaire = self.questionnaire(turn)
        result = scoring.score(questionnaire, survey.answers)
        history = turn.state.scores.get(questionnaire.id, [])
        baseline = next((row for row in history if row["occasion"] == "baseline"), history[0] if history else None)
        change = result.total - float(baseline["total"]) if result.total is not None and baseline else None
        shown = scoring.shown(questionnaire, result.total)
        band = result.band.id if result.band else None
        turn.actions.append(
            SaveResult(questionnaire.id, survey.occasion, dict(survey.answers), result.total, shown, band,
                       dict(result.subscales), change)
        )  # fmt: skip
        done = (*turn.state.surveys_done, occasions.done_key(survey.occasion, questionnaire.id))
        turn.state = replace(turn.state, surveys_done=done)
        if result.total is not None:
            row = {
                "occasion": survey.occasion,
                "date": local_date(turn.now, turn.state.timezone).isoformat(),
                "total": f"{result.total:.4g}",
                "shown": shown,
            }
            scores = {**turn.state.scores, questionnaire.id: [*history, row][-KEEP_SCORES:]}
            turn.state = replace(turn.state, scores=scores)
        turn.send(turn.text(result.band.message) if result.band else turn.ui("survey_thanks"))
        if change is None:
            change_text = turn.ui("staff_result_first") if result.total is not None else ""
        else:
            change_text = turn.ui("staff_result_change", change=f"{change:+.{questionnaire.scoring.decimals}f}",
                                  baseline=baseline["shown"] if baseline else "")  # fmt: skip
        turn.actions.append(
            NotifyStaff(
                turn.ui("staff_result", code=turn.state.code, title=questionnaire.title, occasion=survey.occasion,
                        score=shown, band=result.band.label if result.band else result.problem, change=change_text)
            )
        )  # fmt: skip
        if result.total is not None:
            self.check_stepped_care(turn, questionnaire, survey.occasion, shown)
        following = turn.content.questionnaires.get(survey.queue[0]) if survey.queue else None
        if following is not None:
            turn.state = replace(turn.state, survey=Survey(survey.occasion, following.id, queue=survey.queue[1:]))
            turn.send(turn.text(following.intro))
            self.ask_item(turn, fresh=True)
            return
        turn.state = replace(turn.state, survey=None)
        turn.say("questionnaires_done")
        turn.show_menu()

    @staticmethod
    def check_stepped_care(turn: Turn, questionnaire: Questionnaire, occasion: str, shown: str) -> None:
        """Rules met by this patient's results (PHQ-9 of 20+, a rise since baseline ...): flag once per occasion."""
        history = {q: [float(row["total"]) for row in rows] for q, rows in turn.state.scores.items()}
        for rule in stepped_care.rules_met(turn.full_content.program.stepped_care, history, questionnaire.id):
            key = f"{rule.id}/{occasion}"
            if key in turn.state.flagged:
                continue
            turn.state = replace(turn.state, flagged=(*turn.state.flagged, key))
            text = turn.ui("staff_flag", code=turn.state.code, reason=rule.reason, title=questionnaire.title,
                           score=shown, occasion=occasion)  # fmt: skip
            turn.actions.append(FlagForReview(rule.id, occasion, rule.reason, text))

    # -- the page, the menu, /progress ----------------------------------------------------

    def place(self, turn: Turn) -> tuple[int, int, Questionnaire]:
        survey, questionnaire = self.questionnaire(turn)
        return survey.index + 1, len(questionnaire.items), questionnaire

    def page(self, turn: Turn, page: str) -> tuple[str, Choices] | None:
        """A questionnaire left part way: carry on with it, or go to the lesson?"""
        if turn.state.survey is None:
            return None
        number, total, questionnaire = self.place(turn)
        text = turn.ui("questionnaires_paused", name=questionnaire.name, number=number, total=total)
        return text, [
            (turn.ui("menu_questionnaires_continue", number=number, total=total), QUESTIONNAIRES),
            (turn.ui("questionnaires_lesson_instead"), LESSON_CHOICE),
        ]

    def page_tap(self, turn: Turn, page: str, choice: str, message_id: int | None) -> None:
        if choice not in (QUESTIONNAIRES, LESSON_CHOICE) or not turn.choose(choice, message_id):
            turn.stale()

    def interrupted(self, turn: Turn) -> str | None:
        return QUESTIONNAIRES if turn.state.survey is not None else None

    def main_menu(self, turn: Turn) -> Sequence[MenuButton | MenuNote]:
        if turn.state.survey is not None:
            number, total, _ = self.place(turn)
            return [MenuButton(10, turn.ui("menu_questionnaires_continue", number=number, total=total), QUESTIONNAIRES)]
        if due := self.due_now(turn):
            label = turn.ui("menu_questionnaires_start", count=len(due[0].remaining))
            return [MenuNote(20, turn.ui("menu_questionnaires_note")), MenuButton(10, label, QUESTIONNAIRES)]
        return []

    def progress(self, turn: Turn) -> Sequence[ProgressPart]:
        """Each questionnaire's latest score (and the first), then a chart of them over time."""
        results = [(q, turn.state.scores.get(q.id, [])) for q in turn.content.questionnaires.values()]
        lines: list[str] = []
        if any(rows for _, rows in results):
            lines += ["", turn.ui("progress_scores_title")]
            for questionnaire, rows in results:
                if rows:
                    first = rows[0]["shown"] if len(rows) > 1 else ""
                    lines.append(turn.ui("progress_score", name=questionnaire.name, title=questionnaire.title,
                                         score=rows[-1]["shown"], first=first))  # fmt: skip
        series = []
        for questionnaire, rows in results:
            if questionnaire.chart and rows:
                low, high = questionnaire.score_range()
                points = tuple((row["date"], float(row["total"])) for row in rows)
                series.append(ChartSeries(f"{questionnaire.name} ({questionnaire.title})", points, low, high))
        chart = (SendChart(tuple(series), turn.ui("chart_caption")),) if series else ()
        return [ProgressPart(30, tuple(lines), chart)]
