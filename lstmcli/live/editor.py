"""The text area: the text typed, with the rest of the first suggestion dim after the cursor."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import TextArea


class Editor(TextArea):
    """A :class:`~textual.widgets.TextArea` that calls ``on_edit`` after every edit.

    TextArea calls :meth:`update_suggestion` inside each edit, before the screen is drawn
    again; ``on_edit`` (the app bringing the model to the new text) runs there, so the
    text and its suggestions reach the screen in one frame. A ``Changed`` message would
    arrive a frame later. ``suggestion`` (dim after the cursor; → at the end of a line
    types it, as Tab does) is set by the app.
    """

    def __init__(self, text: str, on_edit: Callable[[], None], **kwargs) -> None:
        super().__init__(text, **kwargs)
        self._on_edit = on_edit

    def update_suggestion(self) -> None:
        if self.is_mounted:
            self._on_edit()
