"""Course content as data: per-locale YAML with Jinja2 text, its schema, loader and checks."""

from content.check import load_content
from content.loader import ContentError
from content.schema import Content, Flow, LocaleContent

__all__ = ["Content", "ContentError", "Flow", "LocaleContent", "load_content"]
