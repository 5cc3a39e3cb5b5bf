"""The status line: the model, the text's length in tokens, the file, words the model lacks."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class Status(Widget):
    """One line at the top of the screen."""

    model: reactive[str] = reactive("")  # e.g. "ja.safetensors · lstm 2×256 · 1,132 words · ja"
    tokens: reactive[int] = reactive(0)
    path: reactive[str] = reactive("")  # where Ctrl+S saves
    unknown: reactive[tuple[str, ...]] = reactive(())
    busy: reactive[bool] = reactive(False)  # the model is still reading a long change

    def render(self) -> Text:
        line = Text.assemble(("lstm live", "bold"), f" · {self.tokens:,} tokens")
        if self.busy:
            line.append(" · reading…", "yellow")
        if self.unknown:
            line.append(" · not in the vocabulary: " + ", ".join(sorted(set(self.unknown))),
                        "yellow")  # fmt: skip
        line.append(f" · {self.path}" if self.path else " · not saved yet", "dim")
        line.append(f" · {self.model}", "dim")
        return line
