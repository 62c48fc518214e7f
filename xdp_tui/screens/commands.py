"""Command palette entries: every workshop action by name, and "go to lesson …"."""

from __future__ import annotations

from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class WorkshopCommands(Provider):
    """Searches the workshop screen's bindings and lesson titles."""

    def _entries(self) -> list[tuple[str, str, object]]:
        from xdp_tui.screens.main import WorkshopScreen

        screen = self.screen
        entries: list[tuple[str, str, object]] = []
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding):
                continue
            if not binding.description or binding.action.startswith("command_palette"):
                continue
            action = partial(screen.run_action, binding.action)
            entries.append((binding.description, binding.tooltip or "", action))
        if isinstance(screen, WorkshopScreen):
            for lesson in screen.lessons:
                goto = partial(screen.go_to_lesson, lesson.id)
                entries.append((f"Lesson {lesson.id}: {lesson.title}", "Open this lesson", goto))
        return entries

    async def discover(self) -> Hits:
        for name, help_text, action in self._entries():
            yield DiscoveryHit(name, action, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), action, help=help_text)  # type: ignore[arg-type]
