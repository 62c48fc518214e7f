"""The bottom line(s): every shown key of the screen and what it does.

A light stand-in for Textual's Footer: the workshop's keys never change,
so the bar is drawn once instead of being recomposed on every focus change
(the Footer rebuilds a widget per key each time, a large part of start-up).
It wraps onto a second line on narrow terminals so no key is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        height: auto;
        max-height: 2;
        padding: 0 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def __init__(
        self,
        bindings: Iterable[BindingType],
        *,
        id: str | None = None,
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        """EXTRA: (keys, what) entries drawn before the palette's, e.g. ("1-9", "Tabs")
        for keys that have a binding each but one meaning."""
        super().__init__(id=id)
        self.bindings = [b for b in bindings if isinstance(b, Binding) and b.show]
        self.extra = list(extra)

    def on_mount(self) -> None:
        self.update(self._content())

    def _content(self) -> Content:
        parts: list[str | tuple[str, str]] = []
        for binding in self.bindings:
            key = self.app.get_key_display(Binding(bound_keys(self.app, binding)[0], ""))
            parts += [(key, "bold $footer-key-foreground"), f" {binding.description}  "]
        for keys, what in self.extra:
            parts += [(keys, "bold $footer-key-foreground"), f" {what}  "]
        palette = self.app.get_key_display(Binding(self.app.COMMAND_PALETTE_BINDING, ""))
        parts += [(palette, "bold $footer-key-foreground"), " Commands"]
        return Content.assemble(*parts)


def bound_keys(app: object, binding: Binding) -> list[str]:
    """The keys BINDING answers to now: the learner's keymap (config.toml) over the default.

    Textual applies a keymap to the live bindings, but the key bar and the help
    list are drawn from the declared ones, so they ask here.
    """
    keymap: Mapping[str, str] = getattr(app, "keymap_in_use", {})
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [key.strip() for key in keys.split(",") if key.strip()] or [binding.key]
