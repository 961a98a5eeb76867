"""Shared test fixtures: the shipped content, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from content import Content, load_content

__all__ = ["CONTENT_DIR", "ROOT", "load_content"]

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(CONTENT_DIR, "en")
