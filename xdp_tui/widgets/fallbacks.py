"""The live and object panes, with stand-ins while their real widgets are not there.

The panes themselves (`object_view`, `lab_diagram`, `live_stats`,
`monitor_log`) live in their own modules. If one fails to import, the
screen still works: a plain stand-in with the same methods shows text.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from textual.widget import Widget
from textual.widgets import Static


class _StandIn(Static):
    """Shows the last thing it was given as indented text."""

    def _show(self, value: Any) -> None:
        try:
            self.update(json.dumps(value, indent=1, default=str)[:4000])
        except (TypeError, ValueError):
            self.update(str(value)[:4000])


class ObjectStandIn(_StandIn):
    def show_object(self, info: Any) -> None:
        self._show(info)


class LabStandIn(_StandIn):
    def update_lab(self, lab_status: dict, attach_status: dict | None) -> None:
        self._show({"lab": lab_status, "xdp": attach_status})


class StatsStandIn(_StandIn):
    def update_sample(self, sample: dict) -> None:
        self._show(sample.get("actions") or sample.get("maps") or sample)


class MonitorStandIn(_StandIn):
    def add_events(self, *events: Any) -> None:
        if events and events[0]:
            self._show(events[0])

    def add_lines(self, *lines: Any) -> None:
        if lines and lines[0]:
            self._show(lines[0])


_PANES = {
    "object": ("xdp_tui.widgets.object_view", "ObjectView", ObjectStandIn),
    "lab": ("xdp_tui.widgets.lab_diagram", "LabDiagram", LabStandIn),
    "stats": ("xdp_tui.widgets.live_stats", "LiveStats", StatsStandIn),
    "monitor": ("xdp_tui.widgets.monitor_log", "MonitorLog", MonitorStandIn),
}


def make_pane(kind: str, *, id: str) -> Widget:
    """The real pane widget of KIND, or its stand-in when it cannot be imported."""
    module_name, class_name, stand_in = _PANES[kind]
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except Exception:  # noqa: BLE001 - any import problem: keep the app usable
        return stand_in(id=id, classes="stand-in")
    return cls(id=id)
