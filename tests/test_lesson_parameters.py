"""Each lesson's parameters cell at a second, cheaper setting still gives a lesson whose
self-check passes (DESIGN.md): a documented parameter must not break the lesson. The lessons run
up to and through their self-checks with the parameters overridden, as an instructor would set
them in the parameters cell (the lesson_code helper replaces the cell's values, as papermill
would inject them)."""

from __future__ import annotations

import pytest

from lesson_code import CHEAPER, lesson_namespace


@pytest.mark.slow
@pytest.mark.parametrize("lesson", list(CHEAPER))
def test_lesson_passes_at_a_cheaper_setting(lesson):
    path, check_text, parameters = CHEAPER[lesson]
    ns, check = lesson_namespace(path, run_until=check_text, **parameters)
    exec(check, ns)
