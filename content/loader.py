"""Reads `content/<locale>/` into validated Content, remembering the line of every YAML node."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor

from content.schema import Content, CrisisDirectory, Flow, LocaleContent, Program, Questionnaire, SafetyPhrases

Path_ = tuple[str | int, ...]
_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the content, reported as `file:line: message`."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class SourceFile:
    """A parsed YAML file with the line of every key and list item in it."""

    path: Path
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, where: Path_) -> int:
        """The line of the deepest part of `where` that the file has."""
        for end in range(len(where), -1, -1):
            if where[:end] in self.lines:
                return self.lines[where[:end]]
        return 1


def _index_lines(node: yaml.Node, where: Path_, lines: dict[Path_, int]) -> None:
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*where, str(key.value))
            lines[child] = key.start_mark.line + 1
            _index_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*where, index)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines)


def read_yaml(path: Path) -> SourceFile:
    text = path.read_text(encoding="utf-8")
    try:
        # Parsed once (with libyaml when PyYAML has it): the node tree gives the lines, then the data.
        node = yaml.compose(text, Loader=_FastLoader)
        data = SafeConstructor().construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark else 1
        raise ContentError([Problem(path, line, f"not valid YAML: {error.problem}")]) from None
    source = SourceFile(path, data)
    if node is not None:
        _index_lines(node, (), source.lines)
    return source


def _validation_problems(source: SourceFile, error: ValidationError) -> Iterator[Problem]:
    steps = source.data.get("steps") if isinstance(source.data, dict) else None
    for item in error.errors():
        loc: Path_ = tuple(item["loc"])
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "type")  # point at the step's `type:` line
        # A discriminated union puts the step type into the location: drop it.
        if (
            len(loc) >= 3
            and loc[0] == "steps"
            and isinstance(loc[2], str)
            and loc[2] in {"message", "question", "choice", "quiz", "scale", "pick", "breathing", "end"}
        ):
            loc = (*loc[:2], *loc[3:])
        where = ".".join(str(part) for part in loc)
        if loc[:1] == ("steps",) and len(loc) > 1 and isinstance(steps, list):
            index = loc[1]
            if isinstance(index, int) and index < len(steps) and isinstance(steps[index], dict):
                step_id = steps[index].get("id", index)
                where = ".".join(str(p) for p in (f"step {step_id}", *loc[2:]))
        message = item["msg"].removeprefix("Value error, ")
        yield Problem(source.path, source.line_of(loc), f"{where}: {message}" if where else message)


@dataclass
class LoadedLocale:
    content: LocaleContent
    sources: dict[str, SourceFile]  # flow id, "ui" or "crisis" -> its file
    questionnaire_sources: dict[str, SourceFile] = field(default_factory=dict)  # questionnaire id -> its file


@dataclass
class LoadedContent:
    content: Content
    locales: dict[str, LoadedLocale]
    program_source: SourceFile


def _load_locale(folder: Path, problems: list[Problem]) -> LoadedLocale | None:
    sources: dict[str, SourceFile] = {}
    flows: dict[str, Flow] = {}
    ui: dict[str, str] = {}
    crisis: CrisisDirectory | None = None
    safety: SafetyPhrases | None = None

    def parse(path: Path) -> SourceFile | None:
        try:
            return read_yaml(path)
        except ContentError as error:
            problems.extend(error.problems)
            return None

    ui_path = folder / "ui.yaml"
    if not ui_path.exists():
        problems.append(Problem(ui_path, 1, "missing: the interface texts of this language"))
    elif (source := parse(ui_path)) is not None:
        sources["ui"] = source
        if not isinstance(source.data, dict) or not all(isinstance(v, str) for v in source.data.values()):
            problems.append(Problem(ui_path, 1, "expected `key: text` lines"))
        else:
            ui = {str(k): v for k, v in source.data.items()}

    crisis_path = folder / "crisis.yaml"
    if not crisis_path.exists():
        problems.append(Problem(crisis_path, 1, "missing: the crisis contacts of this language"))
    elif (source := parse(crisis_path)) is not None:
        sources["crisis"] = source
        try:
            crisis = CrisisDirectory.model_validate(source.data)
        except ValidationError as error:
            problems.extend(_validation_problems(source, error))

    safety_path = folder / "safety.yaml"
    if not safety_path.exists():
        problems.append(Problem(safety_path, 1, "missing: the crisis phrases of this language"))
    elif (source := parse(safety_path)) is not None:
        sources["safety"] = source
        try:
            safety = SafetyPhrases.model_validate(source.data)
        except ValidationError as error:
            problems.extend(_validation_problems(source, error))

    for path in sorted(
        [
            *folder.glob("flows/*.yaml"),
            *folder.glob("lessons/*.yaml"),
            *folder.glob("resources/*.yaml"),
            *folder.glob("tools/*.yaml"),
        ]
    ):
        source = parse(path)
        if source is None:
            continue
        try:
            flow = Flow.model_validate(source.data)
        except ValidationError as error:
            problems.extend(_validation_problems(source, error))
            continue
        if flow.id in flows:
            problems.append(Problem(path, source.line_of(("id",)), f"flow id {flow.id!r} is used twice"))
            continue
        flows[flow.id] = flow
        sources[flow.id] = source

    questionnaires: dict[str, Questionnaire] = {}
    questionnaire_sources: dict[str, SourceFile] = {}
    for path in sorted(folder.glob("questionnaires/*.yaml")):
        source = parse(path)
        if source is None:
            continue
        try:
            questionnaire = Questionnaire.model_validate(source.data)
        except ValidationError as error:
            problems.extend(_validation_problems(source, error))
            continue
        if questionnaire.id in questionnaires:
            problems.append(
                Problem(path, source.line_of(("id",)), f"questionnaire id {questionnaire.id!r} is used twice")
            )
            continue
        questionnaires[questionnaire.id] = questionnaire
        questionnaire_sources[questionnaire.id] = source

    if crisis is None or safety is None:
        return None
    texts = LocaleContent(
        locale=folder.name, ui=ui, crisis=crisis, safety=safety, flows=flows, questionnaires=questionnaires
    )
    return LoadedLocale(texts, sources, questionnaire_sources)


def _load_program(root: Path, problems: list[Problem]) -> tuple[Program, SourceFile] | None:
    path = root / "program.yaml"
    if not path.exists():
        problems.append(Problem(path, 1, "missing: the programme timetable"))
        return None
    try:
        source = read_yaml(path)
        return Program.model_validate(source.data), source
    except ContentError as error:
        problems.extend(error.problems)
    except ValidationError as error:
        problems.extend(_validation_problems(source, error))
    return None


def content_version(root: Path) -> str:
    """The version of the course content: a hash of every YAML file's name and bytes, so any edit a
    clinician makes gives a new version (recorded with each consent and in every export)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.yaml")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"sha256:{digest.hexdigest()[:16]}"


def load_sources(root: Path, default_locale: str) -> tuple[LoadedContent | None, list[Problem]]:
    """Load every locale under `root`; return what loaded and the problems found on the way."""
    problems: list[Problem] = []
    locales: dict[str, LoadedLocale] = {}
    program = _load_program(root, problems)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    for folder in folders:
        loaded = _load_locale(folder, problems)
        if loaded is not None:
            locales[folder.name] = loaded
    if default_locale not in {f.name for f in folders}:
        problems.append(Problem(root / default_locale, 1, f"no content for the default language {default_locale!r}"))
    if default_locale not in locales or program is None:
        return None, problems
    content = Content(
        default_locale=default_locale, locales={k: v.content for k, v in locales.items()}, program=program[0],
        version=content_version(root),
    )  # fmt: skip
    return LoadedContent(content, locales, program[1]), problems
