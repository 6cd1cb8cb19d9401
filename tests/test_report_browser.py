"""The readiness report in headless Chromium: printed to PDF as a lecturer would print it (A4,
page numbers, the headline and every student there), and every table within a 1366 × 768
laptop screen and within the printed page's width.

Without Chromium or Playwright these tests are skipped with how to install them, except under
CI (the CI environment variable set), where that is a failure.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pandas as pd
import pytest

from conftest import CHROMIUM, need_browser
from digiready.course.curriculum import Curriculum
from digiready.reporting.cohort_scores import COLUMNS
from digiready.reporting.report import write_report

pytestmark = pytest.mark.browser

STUDENTS = 40
PRINT_TIMEOUT_S = 120
A4_POINTS = (595.3, 841.9)  # 210 × 297 mm
# The width of an A4 page less report.css's @page margins (12 mm each side), in CSS pixels.
A4_TEXT_WIDTH_PX = round((210 - 2 * 12) / 25.4 * 96)
# Every table narrower than its box, and the page narrower than the window.
OVERFLOWS = """() => {
  const wide = Array.from(document.querySelectorAll('table'))
    .filter(table => table.scrollWidth > table.parentElement.clientWidth + 1)
    .map(table => `${table.caption.textContent.slice(0, 40)}: ${table.scrollWidth} px in `
                  + `${table.parentElement.clientWidth}`);
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) wide.push(`page: ${page.scrollWidth} px`);
  return wide;
}"""


def _cohort(curriculum: Curriculum) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of `STUDENTS` students on every capability at every level (two 2-point items a
    level, spread so that levels differ), and a class list with long names."""
    modules = {c: m.id for m in reversed(curriculum.modules) for c in m.capabilities}
    rows = [
        {
            "student": f"{number:07d}",
            "module": modules.get(capability.id, curriculum.modules[0].id),
            "grade_id": f"{capability.id.replace('.', '_')}_{level}_{item}_test",
            "kind": "auto",
            "capability": capability.id,
            "level": level,
            "max_score": 2.0,
            "score": 2.0 if (number * 7 + index * 5 + level * 3 + item) % 6 >= level else 0.0,
            "needs_manual_grade": False,
        }
        for number in range(STUDENTS)
        for index, capability in enumerate(curriculum.capabilities)
        for level in (1, 2, 3, 4)
        for item in (1, 2)
    ]
    names = pd.DataFrame(
        {
            "student": [f"{number:07d}" for number in range(STUDENTS)],
            "name": [f"Alexandra-Louise Featherstonehaugh-Wójcik {number}"
                     for number in range(STUDENTS)],
            "module": curriculum.modules[0].id,
            "status": "submitted",
        }
    )
    return pd.DataFrame(rows, columns=COLUMNS), names


@pytest.fixture(scope="module")
def report(curriculum: Curriculum, tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_browser()
    scores, names = _cohort(curriculum)
    return write_report(scores, curriculum, tmp_path_factory.mktemp("report"), statuses=names,
                        cohort="BA Social Work 2026")


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose HOME, TMPDIR and XDG folders are Chromium's alone."""
    from browser_harness import private_environment

    return private_environment(tmp_path_factory.mktemp("private"))


def print_to_pdf(page: Path, pdf: Path, env: dict[str, str]) -> None:
    """Print `page` to `pdf` with Chromium's own command line, as a lecturer's browser would."""
    from browser_harness import CHROMIUM_ARGS, stop_process

    command = [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={env['HOME']}/chromium-profile",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, errors = process.communicate(timeout=PRINT_TIMEOUT_S)
    finally:
        stop_process(process)
    assert pdf.is_file(), errors.decode(errors="replace")[-2000:]


def test_report_prints_to_a_clean_a4_pdf(
    report: Path, private: dict[str, str], tmp_path: Path
) -> None:
    from pypdf import PdfReader

    pdf = tmp_path / "report.pdf"
    print_to_pdf(report, pdf, private)

    assert pdf.read_bytes().startswith(b"%PDF")
    pages = PdfReader(pdf).pages
    assert 8 <= len(pages) <= 30, len(pages)
    for page in pages:
        assert (page.mediabox.width, page.mediabox.height) == pytest.approx(A4_POINTS, abs=1)
    texts = [" ".join(page.extract_text().split()) for page in pages]
    headline = re.search(r'<p class="headline">(.*?)</p>', report.read_text(encoding="utf-8"))
    assert headline and headline[1] in texts[0]
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {len(pages)}" in text  # report.css's footer
        assert "file:" not in text  # no header or footer of Chromium's own
    everything = " ".join(texts)
    for number in range(STUDENTS):
        assert f"{number:07d} Alexandra-Louise" in everything, number


# Run in a process of its own: the JupyterLab tests' Playwright may still hold this thread's
# event loop, and Playwright's sync API allows one per thread.
LAYOUT = """
import json, sys
from playwright.sync_api import sync_playwright
report, width, media, chromium, args, overflows = json.loads(sys.stdin.read())
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=chromium, args=args)
    try:
        page = browser.new_page(viewport={"width": width, "height": 768})
        page.emulate_media(media=media)
        page.goto(report)
        box = page.locator("table.heat").bounding_box()
        print(json.dumps({"rows": page.locator("table.heat tbody tr").count(),
                          "overflows": page.evaluate(overflows),
                          "width": box["width"] if box else None}))
    finally:
        browser.close()
"""


@pytest.mark.parametrize(("media", "width"), [("screen", 1366), ("print", A4_TEXT_WIDTH_PX)])
def test_every_table_fits_a_laptop_screen_and_the_printed_page(
    report: Path, private: dict[str, str], media: Literal["screen", "print"], width: int
) -> None:
    from browser_harness import CHROMIUM_ARGS

    request = [report.as_uri(), width, media, CHROMIUM, list(CHROMIUM_ARGS), OVERFLOWS]
    run = subprocess.run([sys.executable, "-c", LAYOUT], input=json.dumps(request), env=private,
                         capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    shown = json.loads(run.stdout.splitlines()[-1])
    assert shown["rows"] == STUDENTS
    assert shown["overflows"] == []
    assert shown["width"] is not None and shown["width"] <= width
