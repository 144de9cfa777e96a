"""The resource catalogue: one YAML file, validated, rendered as the book's Resources page."""

from .render import render_html
from .schema import DEFAULT_PATH, CatalogueError, load, validate

__all__ = ["CatalogueError", "DEFAULT_PATH", "load", "render_html", "validate"]
