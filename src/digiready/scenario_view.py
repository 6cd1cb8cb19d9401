"""Render a scenario with ipywidgets, usable by keyboard and drivable from pytest.

Students pick an option (radio buttons: Tab or Shift+Tab to reach each one, Space to select
it; in JupyterLab the arrow keys move between cells instead), press "Choose" (Enter or Space),
read what follows, and press "Continue". The debrief appears at the end. After each button the
keyboard focus moves to the next button to press ("Choose" after "Continue" or "Start again"),
so keyboard and screen-reader users are not left on a button just disabled or hidden.

Tests set `view.choices.value` and call `view.choose_button.click()` exactly as a browser would,
then read `view.feedback.value` and `view.debrief.value`.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
from markdown_it import MarkdownIt

from digiready.scenario import Choice, Scenario, Step, load_scenario

_markdown = MarkdownIt("commonmark")

SCENARIO_CLASS = "digiready-scenario"
CHOICES_CLASS = "digiready-choices"
# ipywidgets gives each radio option one fixed-height line, so long options overlap: let them wrap.
_STYLE = f"""<style>
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

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
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
        self.choices = widgets.RadioButtons(
            options=[], value=None, description="Your choice", layout=widgets.Layout(width="100%")
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
            layout=widgets.Layout(max_width="52em"),
        )
        self.widget.add_class(SCENARIO_CLASS)
        self._show_step(self._step)

    @property
    def finished(self) -> bool:
        """True once the debrief (or, for a one-step question, the feedback) is the last word."""
        return self._chosen is not None and self._chosen.next is None

    def _show_step(self, step: Step) -> None:
        self._step = step
        self._chosen = None
        self.story.value = f"{_md(step.text)}<p><strong>{html.escape(step.question)}</strong></p>"
        self.choices.options = [choice.label for choice in step.choices]
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
        choice = self._step.choices[index]
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
        taken = "".join(f"<li>{html.escape(label)}</li>" for _, label in self.path)
        return _live(
            "<h4>Debrief</h4>"
            f"{_md(debrief.summary)}"
            f"<p><strong>Your path:</strong></p><ol>{taken}</ol>"
            f"<p><strong>Principle:</strong> {html.escape(debrief.principle)}</p>"
            f"<p><strong>Law and guidance:</strong> {html.escape(debrief.law)}</p>"
            f"<p><strong>Capability:</strong> {html.escape(debrief.capability)}</p>"
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def show_scenario(path: str) -> ScenarioView:
    """Load a scenario file (relative to the notebook) and return its view to display."""
    return ScenarioView(load_scenario(path))
