"""Course content as data: per-locale YAML with Jinja2 text, its schema, loader and checks."""

from content.loader import ContentError, load_content
from content.schema import Content, Flow, LocaleContent

__all__ = ["Content", "ContentError", "Flow", "LocaleContent", "load_content"]
