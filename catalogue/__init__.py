"""The resource catalogue: one YAML file, validated, rendered as the book's Resources page."""

from .schema import CatalogueError, load, validate
from .render import render_html

__all__ = ["CatalogueError", "load", "validate", "render_html", "DEFAULT_PATH"]

from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("resources.yaml")
