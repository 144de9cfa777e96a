"""Code that the book's lessons and pages share (DESIGN.md: one importable place).

A lesson teaches in its own cells; what it has taught and what the book's pages need
again lives here, tested.
"""
