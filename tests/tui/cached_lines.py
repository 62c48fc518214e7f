"""Shared check for widgets drawn by `CachedLines` (widgets/live_stats.py)."""

from __future__ import annotations

from textual.visual import Visual, visualize

from xdp_tui.widgets.live_stats import CachedLines


def lines_as_textual_draws_them(widget: CachedLines) -> int:
    """Assert each line WIDGET builds itself (segments made directly) has the text,
    styles and selection offsets of Textual's own rendering; returns the lines compared."""
    style = widget.visual_style
    visual = visualize(widget, widget.render())
    textual_lines = Visual.to_strips(widget, visual, widget.size.width, widget.line_count(), style)
    for y in range(widget.line_count()):
        ours = [s for s in widget._line_strip(widget.line_text(y), style, y) if s.text]
        theirs = [s for s in textual_lines[y] if s.text]
        assert [(s.text, s.style) for s in ours] == [(s.text, s.style) for s in theirs]
        assert [s.style and s.style.meta for s in ours] == [
            s.style and s.style.meta for s in theirs
        ]
    return widget.line_count()
