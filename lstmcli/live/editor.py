"""The text area: the text typed, with the rest of the first suggestion dim after the cursor."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import TextArea

# Most terminals send Alt+1…5 as Esc 1…5, which Textual reads as the characters macOS's
# Option key types there, ¡ ™ £ ¢ ∞ (only terminals with the kitty keyboard protocol report
# alt+1). The app takes these keys to pick suggestions: the five characters can be pasted
# into the text, not typed.
ALT_DIGITS = ("inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign",
              "infinity")  # fmt: skip


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

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        """The keys Alt+1…5 arrive as (see :data:`ALT_DIGITS`) go to the app's bindings."""
        return key not in ALT_DIGITS and super().check_consume_key(key, character)

    def update_suggestion(self) -> None:
        if self.is_mounted:
            self._on_edit()
