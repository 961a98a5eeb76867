"""The interface texts the code needs from `ui.yaml`, with the template variables each may use."""

from __future__ import annotations

CRISIS_VARIABLES = frozenset({"crisis_contacts", "country_name"})

UI_TEXTS: dict[str, frozenset[str]] = {
    "reprompt_buttons": frozenset(),
    "stale_button": frozenset(),
    "already_noted": frozenset(),
    "unknown_command": frozenset({"command"}),
    "not_text": frozenset(),
    "paused": frozenset(),
    "something_wrong": frozenset(),
    "help": CRISIS_VARIABLES,
    "menu": frozenset(),
    "menu_start_lesson": frozenset({"number", "title"}),
    "menu_continue_lesson": frozenset({"number", "title"}),
    "menu_help": frozenset(),
    "menu_progress": frozenset(),
    "menu_resources": frozenset(),
    "menu_reread": frozenset(),
    "menu_back": frozenset(),
    "resources_intro": frozenset(),
    "reread_intro": frozenset(),
    "reread_lesson": frozenset({"number", "title"}),
    "all_lessons_done": frozenset(),
    "next_lesson_not_open": frozenset({"number", "date"}),
    "finish_previous_lesson": frozenset({"number", "previous"}),
    "menu_tools": frozenset(),
    "tools_intro": frozenset(),
    "tools_locked": frozenset(),
    "tool_page": frozenset({"count"}),
    "tool_start": frozenset(),
    "tool_past": frozenset({"count"}),
    "tool_entry_header": frozenset({"number", "date"}),
    "pick_added": frozenset({"items"}),
    "pick_something": frozenset(),
    "breath_count": frozenset({"number", "total"}),
    "breathing_in_progress": frozenset(),
    "progress_tool": frozenset({"title", "count", "done"}),
    "reminder_set": frozenset({"date", "time"}),
    "log_done": frozenset(),
    "log_not": frozenset(),
    "log_thanks_done": frozenset(),
    "log_thanks_not": frozenset(),
    "progress_title": frozenset(),
    "progress_done": frozenset({"number", "title"}),
    "progress_in_progress": frozenset({"number", "title"}),
    "progress_open": frozenset({"number", "title"}),
    "progress_waiting": frozenset({"number", "title"}),
    "progress_locked": frozenset({"number", "title", "date"}),
    "finish_onboarding_first": frozenset(),
    "welcome_back": frozenset(),
    "stop_confirm": frozenset(),
    "stop_yes": frozenset(),
    "stop_no": frozenset(),
    "stopped": frozenset(),
    "stop_cancelled": frozenset(),
    "answer_saved": frozenset(),
    "answer_skipped": frozenset(),
    "answer_too_long": frozenset({"limit"}),
    "staff_question": frozenset({"code", "text"}),
    "safety_message": CRISIS_VARIABLES,
    "staff_alert": frozenset({"code", "level", "reason", "excerpt", "count"}),
    "staff_alert_acknowledge": frozenset(),
    "staff_alert_acknowledged": frozenset({"by", "time"}),
    "command_start": frozenset(),
    "command_menu": frozenset(),
    "command_lesson": frozenset(),
    "command_help": frozenset(),
    "command_progress": frozenset(),
    "command_resources": frozenset(),
    "command_tools": frozenset(),
    "command_stop": frozenset(),
}

# Button labels are limited by Telegram to 64 characters once rendered.
BUTTON_TEXTS = frozenset(
    {
        "menu_start_lesson", "menu_continue_lesson", "menu_help", "menu_progress", "menu_resources",
        "menu_reread", "menu_back", "reread_lesson", "stop_yes", "stop_no", "staff_alert_acknowledge",
        "menu_tools", "tool_start", "tool_past", "log_done", "log_not",
    }
)  # fmt: skip

# Variables every flow text may use, beside `answers`.
FLOW_VARIABLES = frozenset({"answers", "crisis_contacts", "country_name", "code"})
