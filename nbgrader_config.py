"""nbgrader configuration for the digiready course (run nbgrader or digiready in this folder)."""

import os
import sys

c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "digiready"
c.CourseDirectory.source_directory = "course"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.solution_directory = "solutions"
# The gradebook: SQLite in the course root by default (git-ignored); PostgreSQL works via db_url.
c.CourseDirectory.db_url = os.environ.get(
    "DIGIREADY_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)
# nbgrader copies every non-notebook file of a module folder into the release; keep caches out.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# A new gradebook runs the `alembic` executable: make sure this environment's bin/ is on PATH.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

# nbgrader's Validate in plain words (what the student's notebook needs fixing, and how).
from digiready.student_lab import VALIDATOR_MESSAGES  # noqa: E402

for _name, _text in VALIDATOR_MESSAGES.items():
    setattr(c.Validator, _name, _text)

# Each cell may run for at most this many seconds when nbgrader executes a notebook.
c.Execute.timeout = 60

# Release `answer_1_2 = ...` instead of `raise NotImplementedError()`.
c.GenerateAssignment.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "digiready.grading.nbgrader_ext.ClearAnswers",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.ClearAnswers.code_stub = {"python": "# YOUR ANSWER HERE\nraise NotImplementedError()"}

# Put back graded cells a student deleted, so they score 0 instead of breaking grading.
c.OverwriteCells.add_missing_cells = True

# Before nbgrader restores the module's cells: a written answer (reflection) a student turned
# into a code cell by accident, or typed into cells added next to it, is put back as text with
# the student's words, and noted for the marker (`digiready grade` flags it).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "digiready.grading.nbgrader_ext.RecoverWrittenAnswers",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# nbgrader's autograde steps, plus: after running, escape HTML in markdown the student could
# edit and keep only safe output types (formgrader and feedback would run them as script).
# `digiready grade` swaps Execute for its forked, sandboxed kernels and keeps the rest.
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "digiready.grading.nbgrader_ext.SanitiseStudentContent",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Late work: nbgrader's AssignLatePenalties (an autograde step above) asks this plugin for a
# penalty when a submission is later than its module's due date plus any extension (README,
# "Deadlines, late work and extensions"). "none" reports lateness and deducts nothing; "cap"
# caps the mark at cap_percent of the maximum; "per_day" deducts per_day_percent of the maximum
# for each day or part of a day late. With max_days above 0, work later than that scores 0.
c.AssignLatePenalties.plugin_class = "digiready.grading.late_policy.UKLatePolicy"
c.UKLatePolicy.policy = "none"
c.UKLatePolicy.cap_percent = 40.0
c.UKLatePolicy.per_day_percent = 5.0
c.UKLatePolicy.max_days = 0

# Feedback reaches students: strip hidden tests, mark schemes and test tracebacks; test cells
# show only the score in our words (a student's kernel could print the hidden tests).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "digiready.grading.nbgrader_ext.StripTestTracebacks",
    "digiready.grading.nbgrader_ext.FeedbackResults",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
