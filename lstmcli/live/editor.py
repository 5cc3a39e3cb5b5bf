"""The text area: the text typed, with the rest of the first suggestion dim after the cursor."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from textual import events
from textual.widgets import TextArea

# Most terminals send Alt+1…5 as Esc 1…5, which Textual reads as the characters macOS's
# Option key types there, ¡ ™ £ ¢ ∞ (only terminals with the kitty keyboard protocol report
# alt+1). The app takes these keys to pick suggestions: the five characters can be pasted
# into the text, not typed.
ALT_DIGITS = ("inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign",
              "infinity")  # fmt: skip


def is_format(character: str | None) -> bool:
    """Whether ``character`` is a format character (Unicode Cf): the zero-width joiner of
    emoji sequences (👨‍👩‍👧), the non-joiner of Persian and Indic scripts, the tags of
    subdivision flags. Python calls them unprintable, so TextArea would not type them."""
    return bool(character) and len(character) == 1 and unicodedata.category(character) == "Cf"


class Editor(TextArea):
    """A :class:`~textual.widgets.TextArea` that calls ``on_edit`` after every edit.

    TextArea calls :meth:`update_suggestion` inside each edit, before the screen is drawn
    again; ``on_edit`` (the app bringing the model to the new text) runs there, so the
    text and its suggestions reach the screen in one frame. A ``Changed`` message would
    arrive a frame later. ``suggestion`` (dim after the cursor; → at the end of a line
    types it, as Tab does) is set by the app. Format characters (:func:`is_format`) are
    typed as the printable ones are.
    """

    def __init__(self, text: str, on_edit: Callable[[], None], **kwargs) -> None:
        super().__init__(text, **kwargs)
        self._on_edit = on_edit

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        """The keys Alt+1…5 arrive as (see :data:`ALT_DIGITS`) go to the app's bindings."""
        return key not in ALT_DIGITS and super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        # runs before TextArea's handler, which is skipped once the key is taken here
        if is_format(event.character) and not self.read_only:
            event.stop()
            event.prevent_default()
            self.replace(event.character, *self.selection, maintain_selection_offset=False)

    def update_suggestion(self) -> None:
        if self.is_mounted:
            self._on_edit()
