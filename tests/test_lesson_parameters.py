"""Each lesson's parameters cell at a second, cheaper setting still gives a lesson whose
self-check passes (DESIGN.md): a documented parameter must not break the lesson. The lessons run
up to and through their self-checks with the parameters overridden, as an instructor would set
them in the parameters cell (the lesson_code helper replaces the cell's values, as papermill
would inject them)."""

from __future__ import annotations

import pytest

from lesson_code import BDT_LESSON, CNN_LESSON, HISTOGRAM_LESSON, SELECTION_LESSON, lesson_namespace

CHEAPER = [
    (HISTOGRAM_LESSON, "expected_branches = {", {"CHUNK_SIZE": 1000}),
    # lesson 1.1 with its documented cap: a fraction of the data's luminosity, the prediction scaled to it
    (SELECTION_LESSON, "tolerance = 0.10 if MODE", {"MAX_EVENTS_PER_FILE": 2000, "CHUNK_SIZE": 500, "N_DASK_WORKERS": 1}),
    (BDT_LESSON, "hgb, xgbm, cut = results.loc", {"MAX_TRAIN_EVENTS": 4000, "N_FOLDS": 3, "N_BOOTSTRAP": 20}),
    (CNN_LESSON, "AUC_THRESHOLD = 0.97 if MODE", {"MAX_TRAIN_JETS": 8000, "MAX_EVAL_JETS": 3000, "MAX_EPOCHS": 8}),
]


@pytest.mark.slow
@pytest.mark.parametrize("lesson, check_text, parameters", CHEAPER, ids=["0", "1.1", "1.2", "2.1"])
def test_lesson_passes_at_a_cheaper_setting(lesson, check_text, parameters):
    ns, check = lesson_namespace(lesson, run_until=check_text, **parameters)
    exec(check, ns)
