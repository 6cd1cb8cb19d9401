"""Render a scenario with ipywidgets, usable by keyboard and drivable from pytest.

Students pick an option (radio buttons: Tab or Shift+Tab to reach each one, Space to select
it; in JupyterLab the arrow keys move between cells instead), press "Choose" (Enter or Space),
read what follows, and press "Continue". The debrief appears at the end. After each button the
keyboard focus moves to the next button to press ("Choose" after "Continue" or "Start again"),
so keyboard and screen-reader users are not left on a button just disabled or hidden.

The options at each step are shown in a fixed shuffled order
(`digiready.course.scenario.shown_order`), so the recommended one is not always first. In the
browser a small script (`ENHANCE_JS`, shown once with each view) makes the options one radio group
named by the step's question, so a screen reader says "radio button, 1 of 3" in the group "What do
you do first?", and scrolls the new story text into view after Continue or Start again. Every
button, option and dropdown gets a focus outline of at least 3:1 against the cell (`FOCUS_STYLE`).
The debrief sets each choice the student made beside the recommended choice at that step, in words.

Tests set `view.choices.value` and call `view.choose_button.click()` exactly as a browser would,
then read `view.feedback.value` and `view.debrief.value`.
"""

from __future__ import annotations

import html
import os
import uuid
from typing import Any

import ipywidgets as widgets
from markdown_it import MarkdownIt

from digiready.course.scenario import Choice, Scenario, Step, load_scenario, shown_order

_markdown = MarkdownIt("commonmark")

SCENARIO_CLASS = "digiready-scenario"
CHOICES_CLASS = "digiready-choices"
STORY_CLASS = "digiready-story"
QUESTION_CLASS = "digiready-question"
FORM_CLASS = "digiready-form"
# JupyterLab's darkest brand blue: 8.6:1 on the light theme's white cells (and 3:1 or more on
# the dark theme's, where the variable is a lighter blue). 3 px, so it is seen, not guessed.
# The widget boxes hide what overflows them: the boxes get room for the outline around options
# and buttons (FOCUS_ROOM), and a dropdown, whose box fits it exactly, has its outline inside.
FOCUS_STYLE = f"""<style>
:is(.{SCENARIO_CLASS}, .{FORM_CLASS}) :is(button, input, select):focus-visible {{
  outline: 3px solid var(--jp-brand-color0, #0d47a1) !important;
  outline-offset: 2px !important;
}}
:is(.{SCENARIO_CLASS}, .{FORM_CLASS}) select:focus-visible {{ outline-offset: -3px !important; }}
</style>"""
FOCUS_ROOM = "6px"
# Run once per page: the radio group and its name, and the story scrolled into view when it
# changes (ipywidgets cannot set ARIA attributes or scroll; this survives re-rendering because
# it looks again whenever the page changes).
ENHANCE_JS = f"""
(() => {{
  if (window.digireadyScenarioA11y) return;
  window.digireadyScenarioA11y = true;
  const seen = new WeakMap();
  const scroller = (element) => {{
    for (let node = element.parentElement; node; node = node.parentElement) {{
      const overflow = getComputedStyle(node).overflowY;
      if ((overflow === 'auto' || overflow === 'scroll') && node.scrollHeight > node.clientHeight)
        return node;
    }}
    return null;
  }};
  const reveal = (story) => {{
    const area = scroller(story);
    if (!area) return;
    const top = story.getBoundingClientRect().top - area.getBoundingClientRect().top;
    if (top < 0 || top > area.clientHeight - 48) area.scrollTop += top - 8;
  }};
  const storyChanged = (story, root) => {{
    reveal(story);
    // ipywidgets may move the focus (and scroll to it) just after: show the story again then.
    const again = () => reveal(story);
    root.addEventListener('focusin', again, {{once: true}});
    setTimeout(() => root.removeEventListener('focusin', again), 1500);
  }};
  const pass = () => {{
    scheduled = false;
    for (const root of document.querySelectorAll('.{SCENARIO_CLASS}')) {{
      const question = root.querySelector('.{QUESTION_CLASS}');
      const group = root.querySelector(
        '.{CHOICES_CLASS} :is(.widget-radio-box, .jupyter-widget-radio-box)');
      if (group && question && question.id) {{
        if (group.getAttribute('role') !== 'radiogroup') group.setAttribute('role', 'radiogroup');
        if (group.getAttribute('aria-labelledby') !== question.id)
          group.setAttribute('aria-labelledby', question.id);
      }}
      const story = root.querySelector('.{STORY_CLASS}');
      if (story) {{
        const text = story.textContent;
        if (seen.has(story) && seen.get(story) !== text) storyChanged(story, root);
        seen.set(story, text);
      }}
    }}
  }};
  let scheduled = false;
  new MutationObserver(() => {{
    if (!scheduled) {{ scheduled = true; requestAnimationFrame(pass); }}
  }}).observe(document.body, {{childList: true, subtree: true, characterData: true}});
  pass();
}})();
"""
# ipywidgets gives each radio option one fixed-height line, so long options overlap: let them wrap.
_STYLE = FOCUS_STYLE + f"""<style>
.{SCENARIO_CLASS} .widget-html-content, .{SCENARIO_CLASS} .jupyter-widget-html-content {{
  line-height: 1.5;
}}
.{CHOICES_CLASS} {{ width: 100%; height: auto; }}
.{CHOICES_CLASS} .widget-radio-box label, .{CHOICES_CLASS} .jupyter-widget-radio-box label {{
  height: auto; line-height: 1.4; white-space: normal; display: flex; align-items: flex-start;
  margin-bottom: 0.5em;
}}
.{CHOICES_CLASS} .widget-radio-box input, .{CHOICES_CLASS} .jupyter-widget-radio-box input {{
  flex: none; order: -1; margin: 0.2em 0.5em 0 0;
}}
</style>"""


def _md(text: str) -> str:
    return str(_markdown.render(text))


def _live(inner_html: str) -> str:
    """Wrap feedback so screen readers announce it when it changes."""
    return f'<div role="status" aria-live="polite">{inner_html}</div>'


class ScenarioView:
    """The widgets for one run through a scenario, and the path the student took."""

    def __init__(self, scenario: Scenario, shuffle: bool = True) -> None:
        self.scenario = scenario
        self.shuffle = shuffle
        self.question_id = f"digiready-question-{uuid.uuid4().hex}"
        self.path: list[tuple[str, str]] = []
        self._step: Step = scenario.steps[0]
        self._chosen: Choice | None = None
        note = (
            f"<p><strong>Content note:</strong> {html.escape(scenario.content_note)}</p>"
            if scenario.content_note
            else ""
        )
        self.header = widgets.HTML(f"{_STYLE}<h3>{html.escape(scenario.title)}</h3>{note}")
        self.story = widgets.HTML()
        self.story.add_class(STORY_CLASS)
        # No description: the step's question (in the story) names the group in the browser.
        self.choices = widgets.RadioButtons(
            options=[], value=None, layout=widgets.Layout(width="100%")
        )
        self.choices.add_class(CHOICES_CLASS)
        self.choose_button = widgets.Button(
            description="Choose", tooltip="Confirm the option you selected", button_style=""
        )
        self.feedback = widgets.HTML(_live(""))
        self.continue_button = widgets.Button(description="Continue", tooltip="Go on")
        self.restart_button = widgets.Button(description="Start again", tooltip="Start again")
        self.debrief = widgets.HTML()
        self.choose_button.on_click(self._on_choose)
        self.continue_button.on_click(self._on_continue)
        self.restart_button.on_click(self._on_restart)
        self.widget = widgets.VBox(
            [
                self.header,
                self.story,
                self.choices,
                self.choose_button,
                self.feedback,
                self.continue_button,
                self.debrief,
                self.restart_button,
            ],
            layout=widgets.Layout(max_width="52em", padding=FOCUS_ROOM),
        )
        self.widget.add_class(SCENARIO_CLASS)
        self._show_step(self._step)

    @property
    def finished(self) -> bool:
        """True once the debrief (or, for a one-step question, the feedback) is the last word."""
        return self._chosen is not None and self._chosen.next is None

    def shown_choices(self, step: Step) -> list[Choice]:
        """The step's choices in the order this view shows them."""
        return shown_order(self.scenario, step) if self.shuffle else list(step.choices)

    def _show_step(self, step: Step) -> None:
        self._step = step
        self._chosen = None
        self.story.value = (
            f"{_md(step.text)}<p id=\"{self.question_id}\" class=\"{QUESTION_CLASS}\">"
            f"<strong>{html.escape(step.question)}</strong></p>"
        )
        self.choices.options = [choice.label for choice in self.shown_choices(step)]
        self.choices.value = None
        self.choices.disabled = False
        self.choose_button.disabled = False
        self.feedback.value = _live("")
        self.continue_button.layout.display = "none"
        self.debrief.value = ""
        self.restart_button.layout.display = "none"

    def _on_choose(self, _button: Any = None) -> None:
        if self.choices.value is None:
            self.feedback.value = _live(
                "<p>Select one of the options first, then press Choose.</p>"
            )
            return
        index = list(self.choices.options).index(self.choices.value)
        choice = self.shown_choices(self._step)[index]
        self._chosen = choice
        self.path.append((self._step.id, choice.label))
        self.choices.disabled = True
        self.choose_button.disabled = True
        self.feedback.value = _live(
            f"<p><strong>You chose:</strong> {html.escape(choice.label)}</p>{_md(choice.feedback)}"
        )
        if choice.next is not None:
            self.continue_button.description = "Continue"
            self.continue_button.layout.display = None
            self.continue_button.focus()
        elif self.scenario.debrief is not None:
            self.continue_button.description = "See the debrief"
            self.continue_button.layout.display = None
            self.continue_button.focus()
        else:
            self.restart_button.layout.display = None
            self.restart_button.focus()

    def _on_continue(self, _button: Any = None) -> None:
        if self._chosen is None:
            return
        if self._chosen.next is not None:
            self._show_step(self.scenario.step(self._chosen.next))
            self.choose_button.focus()
            return
        self.continue_button.layout.display = "none"
        self.debrief.value = self._debrief_html()
        self.restart_button.layout.display = None
        self.restart_button.focus()

    def _on_restart(self, _button: Any = None) -> None:
        self.path.clear()
        self._show_step(self.scenario.steps[0])
        self.choose_button.focus()

    def _debrief_html(self) -> str:
        debrief = self.scenario.debrief
        if debrief is None:
            return ""
        return _live(
            "<h4>Debrief</h4>"
            f"{_md(debrief.summary)}"
            f"{self._comparison_html()}"
            f"<p><strong>Principle:</strong> {html.escape(debrief.principle)}</p>"
            f"<p><strong>Law and guidance:</strong> {html.escape(debrief.law)}</p>"
            f"<p><strong>Capability:</strong> {html.escape(debrief.capability)}</p>"
        )

    def _comparison_html(self) -> str:
        """Each step the student took: the question, their choice and the recommended one, in
        words (never colour alone), and how many of their choices were the recommended one."""
        rows, marked, same = [], 0, 0
        for step_id, label in self.path:
            step = self.scenario.step(step_id)
            best = step.recommended
            verdict = ""
            if best is not None:
                marked += 1
                same += best.label == label
                verdict = (
                    "<p>Recommended here: the same. Your choice was the recommended one.</p>"
                    if best.label == label
                    else f"<p>Recommended here: {html.escape(best.label)}</p>"
                )
            rows.append(
                f"<li><p><strong>{html.escape(step.question)}</strong></p>"
                f"<p>Your choice: {html.escape(label)}</p>{verdict}</li>"
            )
        tally = (
            f" You took the recommended choice at {same} of the {marked} steps that have one."
            if marked
            else ""
        )
        return (
            "<p><strong>Your path:</strong> each step you took, your choice and the recommended "
            f"choice there.{tally}</p><ol>{''.join(rows)}</ol>"
        )

    def _ipython_display_(self) -> None:
        from IPython.display import Javascript, display

        display(Javascript(ENHANCE_JS))
        display(self.widget)


GRADING_KERNEL = "DIGIREADY_GRADING_KERNEL"  # set in the kernels `digiready grade` runs


def grading_kernel() -> bool:
    """Whether this kernel is grading a submission (where no one sees a widget)."""
    return os.environ.get(GRADING_KERNEL) == "1"


class NotInGrading:
    """What a practice widget shows in a grading kernel: a line of text, not the widgets. No one
    sees widgets there (the graded notebook keeps only text), and practice earns no marks."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"[{self.what}: not graded, so not run when the notebook is graded]"


def show_scenario(path: str) -> ScenarioView | NotInGrading:
    """Load a scenario file (relative to the notebook) and return its view to display."""
    if grading_kernel():
        return NotInGrading(f"Practice scenario {path}")
    return ScenarioView(load_scenario(path))
