"""Deployment and installs: the compose file runs what docs/operations.md says (PostgreSQL, webhook
workers with SCHEDULER=off, one scheduler, health checks on /healthz), the image holds every
package, every package and content file is installed, constraints.txt pins every dependency
within pyproject's ranges, and `paincoach db check` finds a model the migrations do not make.
(The Docker daemon cannot run on the development machine, so the files are checked as data here.)"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from setuptools import find_namespace_packages

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def compose() -> dict[str, dict[str, object]]:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert isinstance(services, dict)
    return services


def environment(service: dict[str, object]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict)
    return {str(k): str(v) for k, v in env.items()}


def test_compose_runs_postgres_workers_and_one_scheduler_with_health_checks() -> None:
    services = compose()
    assert set(services) >= {"db", "migrate", "worker", "scheduler", "proxy"}
    assert services["db"]["image"].startswith("postgres:")  # type: ignore[union-attr]
    assert "pg_isready" in str(services["db"]["healthcheck"])

    worker, scheduler = services["worker"], services["scheduler"]
    assert worker["command"] == ["paincoach", "run"]
    assert environment(worker)["SCHEDULER"] == "off", "workers only receive; the scheduler sends"
    assert re.fullmatch(r"\$\{WORKERS:-[2-9]\}", str(worker["deploy"]["replicas"]))  # type: ignore[index]
    assert scheduler["command"] == ["paincoach", "scheduler"]
    assert "deploy" not in scheduler, "one scheduler"
    assert environment(scheduler)["HEALTH_LISTEN"].endswith(":9090")
    assert "127.0.0.1:8080/healthz" in str(worker["healthcheck"]["test"])  # type: ignore[index]
    assert "127.0.0.1:9090/healthz" in str(scheduler["healthcheck"]["test"])  # type: ignore[index]
    assert services["migrate"]["command"] == ["paincoach", "db", "upgrade"]

    for name in ("worker", "scheduler", "migrate"):
        env = environment(services[name])
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://"), name
        for required in ("DATA_KEY", "TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET"):
            assert env[required].startswith(f"${{{required}:?"), f"{name}: {required} must be set, never defaulted"
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"  # type: ignore[index]
    for name in ("worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"  # type: ignore[index]


def test_the_image_holds_every_package_and_installs_the_pinned_versions() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", dockerfile, re.MULTILINE))
    tops = {pattern.rstrip("*") for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert copied == tops, "every top-level package is copied into the image"
    assert "pip install -c constraints.txt ." in dockerfile
    python = re.search(r"^FROM python:(\d+\.\d+)", dockerfile, re.MULTILINE)
    assert python is not None
    made_with = re.search(r"^# Python (\d+\.\d+)", (ROOT / "constraints.txt").read_text(), re.MULTILINE)
    assert made_with is not None and made_with.group(1) == python.group(1), "the image's Python is the pins' Python"
    assert "/healthz" in dockerfile


def test_every_package_and_content_file_is_installed() -> None:
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]
    found = set(find_namespace_packages(where=str(ROOT), include=find["include"]))
    with_init = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for top in ("paincoach", "bot", "coach", "dialogs", "content", "scheduler", "storage", "clock", "sandbox")
        for path in (ROOT / top).rglob("__init__.py")
    }
    assert with_init <= found, sorted(with_init - found)
    assert {"dialogs.stages", "dialogs.desk", "bot.aiogram", "sandbox.botapi", "storage.migrations.versions"} <= found
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["*"]
    for path in (ROOT / "content").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert ".".join(path.parent.relative_to(ROOT).parts) in found, path
            assert path.suffix == ".py" or f"*{path.suffix}" in data, f"{path} would not be installed"
    assert PYPROJECT["project"]["license"] == "LicenseRef-Proprietary", "an SPDX string, not a table"


def test_constraints_pin_every_dependency_within_its_range() -> None:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line!r}: every line pins one version"
            pins[canonicalize_name(name)] = version
    wanted = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["dev"]]
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in constraints.txt (make constraints)"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} vs {requirement}"
    runtime = {canonicalize_name(Requirement(t).name) for t in PYPROJECT["project"]["dependencies"]}
    assert {"aiogram", "python-telegram-bot", "sniffio"} <= runtime, "the coach runs on either framework"
    for capped in ("sqlalchemy", "sqlmodel"):
        [spec] = [Requirement(t).specifier for t in PYPROJECT["project"]["dependencies"] if t.startswith(capped)]
        assert any(s.operator == "<" for s in spec), f"{capped} has an upper bound"


def test_db_check_passes_at_head_and_finds_a_model_without_its_migration() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "paincoach", "db", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert "the migrations match the models" in ok.stdout
    drifted = subprocess.run(
        [sys.executable, "-c", (
            "import sqlalchemy as sa, storage.models as m, sys\n"
            "m.Patient.__table__.append_column(sa.Column('nickname', sa.Text()))\n"
            "from paincoach.cli import main\nsys.argv = ['paincoach', 'db', 'check']\nmain()\n"
        )],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert drifted.returncode == 1
    assert "the models and the migrations differ" in drifted.stderr
    assert "nickname" in drifted.stderr
