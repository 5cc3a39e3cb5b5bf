"""A one-line prompt for a file name, over the app: Enter takes it, Esc cancels."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class PathPrompt(ModalScreen[str | None]):
    """Asks for a path; dismisses with the text typed, or None.

    Keys typed together (Enter twice, Enter and Esc) can both reach the prompt before it
    is gone: the first answer is taken, the others are ignored.
    """

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.question)
            yield Input(self.value, id="path")
            yield Label("Enter: OK · Esc: cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.answer(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.answer(None)

    def answer(self, path: str | None) -> None:
        """Dismiss with ``path``, unless an earlier key already did."""
        if self.is_active:
            self.dismiss(path)
