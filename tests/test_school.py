"""Planning a school (bookkit.school): lesson slots from the notebooks and the measured figures,
programmes that honour the prerequisites, capacity per hub node."""

from __future__ import annotations

from bookkit import school

FAKE_STATS = {"notebooks": {"notebooks/00-getting-started/01-root-to-histogram.ipynb":
                            {"wall_s": 120.0, "peak_rss_mb": 1000.0, "cells": 13, "datasets": ["cms-dimuon-2012"]}}}


def test_prerequisites_are_read_from_the_headers():
    assert school.prerequisites_of("**Prerequisites.** Lessons 1.2 and 2.1 (classifiers); PyTorch.\n\n**Estimated") == ("1.2", "2.1")
    assert school.prerequisites_of("**Prerequisites.** The *Getting started* lesson (uproot).\n\nmore") == ("0.1",)
    assert school.prerequisites_of("**Prerequisites.** Basic Python; four-momenta.") == ()
    assert school.prerequisites_of("no prerequisites paragraph") == ()
    numbers = {les.number: les for les in school.lessons()}
    assert numbers["3.1"].prerequisites == ("1.2", "2.1") and numbers["6.1"].prerequisites == ("2.1",)
    assert numbers["6.2"].prerequisites == ("6.1",) and numbers["3.2"].prerequisites == ("3.1",)
    assert numbers["4.2"].prerequisites == ("4.1",)
    # every prerequisite is a lesson of the book that comes before it
    order = list(numbers)
    for les in numbers.values():
        assert all(p in numbers and order.index(p) < order.index(les.number) for p in les.prerequisites), les.number


def test_a_slot_adds_reading_exercises_and_measured_execution():
    lesson = next(les for les in school.lessons(FAKE_STATS) if les.number == "0.1")
    expected = (lesson.words / school.WORDS_PER_MINUTE + lesson.code_lines / school.CODE_LINES_PER_MINUTE
                + lesson.exercise_minutes + 2)
    assert lesson.minutes % 5 == 0 and expected <= lesson.minutes < expected + 5
    assert lesson.exec_seconds == 120.0 and lesson.datasets == ("cms-dimuon-2012",)


def test_each_exercise_counts_the_time_its_statement_gives():
    """The slot uses the time each exercise's statement tells the student ("*About 20 minutes.*"),
    so the header's estimate and the exercise agree; every exercise of the book states one."""
    import nbformat

    for lesson in school.lessons({"notebooks": {}}):
        cells = nbformat.read(school.ROOT / lesson.key, as_version=4).cells
        stated = school.exercise_minutes(cells)
        assert len(stated) == lesson.exercises
        for index in stated:  # the statement before each solution gives its time
            statement = next(c.source for c in reversed(cells[:index]) if c.cell_type == "markdown")
            assert school.STATED_MINUTES.search(statement), f"{lesson.key}: an exercise states no time"
        assert lesson.exercise_minutes == sum(stated.values())
    two = [nbformat.v4.new_markdown_cell("**Exercise 1.** *About 20 minutes.*"), nbformat.v4.new_code_cell("x"),
           nbformat.v4.new_code_cell("y", metadata={"tags": ["solution"]}),
           nbformat.v4.new_markdown_cell("**Exercise 2.** no time"), nbformat.v4.new_code_cell("z", metadata={"tags": ["solution"]})]
    assert school.exercise_minutes(two) == {2: 20, 4: school.EXERCISE_MINUTES}


def _lesson(number, minutes, prerequisites=()):
    # words chosen so that the slot is exactly `minutes`
    return school.Lesson(key=f"k{number}", number=number, title=number, words=minutes * school.WORDS_PER_MINUTE,
                         code_lines=0, exercises=0, prerequisites=prerequisites)


def test_programmes_honour_prerequisites_and_spread_over_the_days():
    lessons = [_lesson("0.1", 60), _lesson("1.1", 60, ("0.1",)), _lesson("2.1", 120, ("1.1",)),
               _lesson("3.1", 90, ("2.1",)), _lesson("4.1", 90, ("2.1",))]
    one = school.programme(lessons, 1, minutes_per_day=300)
    assert [les.number for les in one[0]] == ["0.1", "1.1", "2.1"]  # 3.1 would not fit; 4.1 neither
    three = school.programme(lessons, 3, minutes_per_day=300)
    assert sum(len(d) for d in three) == 5
    taught = []
    for day in three:
        for les in day:
            assert set(les.prerequisites) <= set(taught), les.number
            taught.append(les.number)
    five = school.programme(lessons, 5, minutes_per_day=300)
    assert max(sum(les.minutes for les in d) for d in five) <= max(sum(les.minutes for les in d) for d in three)
    assert all(len(d) <= 2 for d in five)  # a long school spreads the lessons


def test_capacity_per_node():
    assert school.students_per_node(1000, 64, 16) == (48, 16)  # (64 - 4) GB / 1.25 GB
    assert school.students_per_node(1000, 8, 16) == (3, 3)
    assert school.students_per_node(3000, 4, 16) == (0, 0)


def test_pages_render_every_lesson():
    schedule, capacity = school.schedule_markdown(), school.capacity_markdown(node_memory_gb=32, node_cores=8)
    for les in school.lessons():
        assert f"| {les.number} {les.title} |" in schedule and f"| {les.number} {les.title} |" in capacity
    assert "**One day**" in schedule and "**Five days**" in schedule
    assert "kernels per 32 GB node" in capacity and "cms-dimuon-2012 (2.2 GB)" in capacity
    assert set(school.INSTRUCTOR_NOTES) == {les.key for les in school.lessons()}


def test_the_sections_of_each_lesson_add_up_to_its_slot():
    """The per-section times of a lesson's header share out exactly the lesson's words, code and
    exercises, and each section's measured execution comes from its own code cells."""
    from bookkit.school import estimated_time_markdown, sections

    stats = {"notebooks": {}}
    for lesson in school.lessons(stats):
        parts = sections(lesson.key, stats)
        assert sum(p.words for p in parts) == lesson.words
        assert sum(p.code_lines for p in parts) == lesson.code_lines
        assert sum(p.exercises for p in parts) == lesson.exercises
        assert sum(p.exercise_minutes for p in parts) == lesson.exercise_minutes
        assert {"Setup", "Exercises", "Self-check"} <= {p.title for p in parts}
        text = estimated_time_markdown(lesson.key, stats)
        assert f"about {lesson.minutes} minutes" in text and all(p.title in text for p in parts)
    # measured cell times land in the sections that hold those cells
    key = school.lessons(stats)[0].key
    n_code = sum(1 for c in __import__("nbformat").read(school.ROOT / key, as_version=4).cells if c.cell_type == "code")
    timed = {"notebooks": {key: {"wall_s": 600.0, "cell_seconds": [0.0] * (n_code - 1) + [600.0]}}}
    last = [p for p in sections(key, timed) if p.exec_seconds]
    assert len(last) == 1 and last[0].exec_seconds == 600.0 and last[0].title in ("Self-check", "Summary")
