"""Command palette entries: every workshop action by name, and "go to lesson …"."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class WorkshopCommands(Provider):
    """Searches the workshop screen's bindings and lesson titles."""

    def _entries(self) -> list[tuple[str, str, object]]:
        screen = self.screen
        entries: list[tuple[str, str, object]] = []
        for binding in getattr(screen, "BINDINGS", []):
            if not binding.description or binding.action.startswith("command_palette"):
                continue
            action = partial(screen.run_action, binding.action)
            entries.append((binding.description, binding.tooltip or "", action))
        go_to_lesson = getattr(screen, "go_to_lesson", None)
        if go_to_lesson is None:
            return entries
        for lesson in getattr(screen, "lessons", []):
            entries.append((f"Lesson: {lesson.title}", lesson.id, partial(go_to_lesson, lesson.id)))
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
