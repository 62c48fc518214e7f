"""LiveStats: fed fixed samples (a rendering test; fakes are fine).

The samples are written in the `stats --json` shape the sampler returns and go
through `engine.live.from_stats`, as the live feed does.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from textual.app import App, ComposeResult

from xdp_tui.engine.live import LiveSample, from_stats
from xdp_tui.widgets.live_stats import (
    HISTORY,
    MAX_MAP_ROWS,
    SPARK_BARS,
    LiveStats,
    TextLines,
    format_value,
    sparkline,
)


def make_sample(tick: int) -> dict[str, Any]:
    """A fixed, deterministic sample: PASS grows, DROP steady, ABORTED idle."""
    return {
        "time": 1000.0 + tick / 4,
        "dev": "test01",
        "prog_id": 42,
        "prog_name": "xdp_stats1_func",
        "maps": {
            "xdp_stats_map": {"type": "percpu_array", "entries": [{"key": 2, "value": 1}]},
            "flows": {
                "type": "hash",
                "entries": [
                    {
                        "key": {"proto": 17, "port": 9},
                        "value": {"packets": 10 * tick, "bytes": 640 * tick},
                    },
                    {"key": {"proto": 6, "port": 80}, "value": {"packets": 3, "meta": {"seen": 1}}},
                ],
            },
        },
        "actions": {
            "XDP_PASS": {
                "packets": 1000 * tick,
                "bytes": 64_000 * tick,
                "pps": 4000.0 + 500 * (tick % 4),
                "bps": 2_048_000.0 + 256_000 * (tick % 4),
            },
            "XDP_DROP": {"packets": 5 * tick, "bytes": 320 * tick, "pps": 20.0, "bps": 10_240.0},
            "XDP_ABORTED": {"packets": 0, "bytes": 0, "pps": 0.0, "bps": 0.0},
        },
        "interface": {"rx_pps": 4020.0, "tx_pps": 3.0, "rx_bps": 2_058_240.0, "tx_bps": 1200.0},
        "run": {"run_cnt": 123_456, "ns_per_run": 48.3, "runs_per_s": 4020.0},
    }


def live(stats: dict[str, Any]) -> LiveSample:
    return from_stats(stats)


class StatsApp(App[None]):
    def __init__(self, samples: list[dict[str, Any]] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.samples = samples or []

    def compose(self) -> ComposeResult:
        yield LiveStats()

    def on_mount(self) -> None:
        for sample in self.samples:
            self.query_one(LiveStats).update_sample(live(sample))


def screen_text(app: App[Any]) -> str:
    # The compositor's text is what the terminal shows (Textual is pinned, see pyproject).
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_per_action_table_with_rates() -> None:
    app = StatsApp([make_sample(1)])
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        for tick in range(2, 13):
            stats.update_sample(live(make_sample(tick)))
        await pilot.pause()
        assert stats.action_cells("XDP_PASS") == {
            "action": "PASS",
            "packets": "12,000",
            "bytes": "768.0 kB",
            "pps": "4,000",
            "mbits": "2.05",
        }
        assert stats.action_cells("XDP_DROP")["packets"] == "60"
        lines = screen_text(app).splitlines()
        assert lines[0].strip() == "test01 · xdp_stats1_func (id 42)"
        assert lines[1].split()[:6] == ["Action", "Packets", "Bytes", "pps", "Mbit/s", "pps,"]
        # rows in the XDP action order, whatever order the sample had
        assert [line.split()[0] for line in lines[2:5]] == ["ABORTED", "DROP", "PASS"]
        assert lines[4].split()[1:6] == ["12,000", "768.0", "kB", "4,000", "2.05"]
        assert lines[4].rstrip()[-1] in SPARK_BARS  # its sparkline
        assert all(len(line) <= 80 for line in lines)
        text = "\n".join(lines)
        assert "interface  rx 4,020 pps  2.06 Mbit/s" in text
        assert "           tx     3 pps  0.00 Mbit/s" in text
        assert "123,456 runs  ·  48 ns/run  ·  4,020 runs/s" in text


async def test_growing_numbers_widen_their_column_and_are_never_cut() -> None:
    app = StatsApp([make_sample(1)])
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        big = make_sample(1)
        big["actions"]["XDP_PASS"]["packets"] = 123_456_789_012
        stats.update_sample(live(big))
        await pilot.pause()
        assert "123,456,789,012" in screen_text(app)
        stats.update_sample(live(make_sample(2)))  # smaller again: the column keeps its width
        await pilot.pause()
        pass_line = next(line for line in screen_text(app).splitlines() if "PASS" in line)
        packets_end = len(" ") + len("ABORTED") + len("  ") + len("123,456,789,012")
        assert pass_line.index("2,000") + len("2,000") == packets_end


async def test_sparklines_keep_a_bounded_history() -> None:
    app = StatsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        for tick in range(1, HISTORY + 11):
            stats.update_sample(live(make_sample(tick)))
        await pilot.pause()
        history = stats.history("XDP_PASS")
        assert len(history) == HISTORY
        assert history[-1] == make_sample(HISTORY + 10)["actions"]["XDP_PASS"]["pps"]
        assert set(sparkline(stats.history("XDP_ABORTED"), 30)) == {SPARK_BARS[0]}


def test_sparkline_drawing() -> None:
    assert sparkline([0, 1, 2, 4], 10) == "▁▃▅█"  # fewer samples than cells
    assert sparkline([0.0] * 60, 20) == "▁" * 20
    assert sparkline([1, 9, 1, 1], 2) == "█▂"  # two samples per bar: the maximum wins
    assert sparkline([], 5) == ""


async def test_late_action_is_inserted_in_order() -> None:
    first = make_sample(1)
    del first["actions"]["XDP_DROP"]
    app = StatsApp([first])
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(LiveStats).update_sample(live(make_sample(2)))
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert [line.split()[0] for line in lines[2:5]] == ["ABORTED", "DROP", "PASS"]


async def test_other_maps_decoded_and_the_stats_map_not_repeated() -> None:
    app = StatsApp([make_sample(3)])
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        await pilot.pause()
        assert stats.map_lines("xdp_stats_map") == []  # it is the action table
        assert stats.map_lines("flows") == [
            "flows  (hash)",
            " proto=17 port=9  packets=30 bytes=1920",
            " proto=6 port=80  packets=3 meta.seen=1",
        ]
        text = screen_text(app)
        assert "proto=17 port=9  packets=30 bytes=1920" in text  # rows really drawn
        # an entry that disappears is removed; a new one is added
        sample = make_sample(4)
        sample["maps"]["flows"]["entries"] = [{"key": 5, "value": [1, 2]}]
        stats.update_sample(live(sample))
        await pilot.pause()
        assert stats.map_lines("flows")[1:] == [" 5  [1, 2]"]
        assert "proto=17" not in screen_text(app)


async def test_big_and_empty_maps_say_so() -> None:
    sample = make_sample(1)
    sample["maps"]["big"] = {
        "type": "hash",
        "entries": [{"key": n, "value": n} for n in range(MAX_MAP_ROWS + 8)],
    }
    sample["maps"]["events"] = {"type": "ringbuf", "entries": [], "note": "read with a reader"}
    app = StatsApp([sample])
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        await pilot.pause()
        assert len(stats.map_lines("big")) == 1 + MAX_MAP_ROWS + 1
        assert stats.map_lines("big")[-1] == " … 8 more entries not shown"
        assert stats.map_lines("events") == ["events  (ringbuf)", " read with a reader"]


async def test_maps_without_btf_say_how_their_values_are_read() -> None:
    sample = make_sample(1)
    sample["maps"]["words"] = {
        "type": "percpu_array", "value_format": "u64_words",
        "entries": [{"key": 2, "value": [10, 840]}],
    }  # fmt: skip
    sample["maps"]["odd"] = {
        "type": "array", "value_format": "hex", "entries": [{"key": 0, "value": "00ab"}]
    }  # fmt: skip
    sample["maps"]["xsks_map"] = {
        "type": "xskmap", "value_format": "hex", "entries": [], "note": "sockets: not listed"
    }  # fmt: skip
    app = StatsApp([sample])
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        await pilot.pause()
        assert stats.map_lines("words") == [
            "words  (percpu_array, no BTF: u64 words)",
            " 2  [10, 840]",
        ]
        assert stats.map_lines("odd")[0] == "odd  (array, no BTF: hex)"
        assert stats.map_lines("flows")[0] == "flows  (hash)"  # BTF: no label
        # nothing shown in hex, so no "hex" label (advanced03's xsks_map)
        assert stats.map_lines("xsks_map")[0] == "xsks_map  (xskmap)"


async def test_unchanged_sample_repaints_nothing() -> None:
    app = StatsApp([make_sample(1)])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        stats = app.query_one(LiveStats)
        rates = app.query_one("#live-rates", TextLines)
        before = rates.lines
        stats.update_sample(live(copy.deepcopy(make_sample(1))))
        assert rates.lines is before  # equal text: not even replaced


async def test_clear_when_detached_and_missing_parts() -> None:
    app = StatsApp([make_sample(1)])
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        stats.clear()
        await pilot.pause()
        assert stats.action_cells("XDP_PASS") == {} and stats.history("XDP_PASS") == []
        assert stats.map_lines("flows") == []
        text = screen_text(app)
        assert "Not attached" in text and "PASS" not in text and "flows" not in text
        bare = {"dev": "test01", "prog_id": 9, "maps": {}, "actions": {}}
        stats.update_sample(live(bare))  # no interface, no run stats: nothing breaks
        await pilot.pause()
        assert app.query_one("#live-rates", TextLines).plain == []
        assert "test01 · program id 9" in screen_text(app)
        stats.update_sample(live({"dev": "test01", "prog_id": None, "maps": {}}))
        await pilot.pause()
        assert "test01 · no XDP program attached" in screen_text(app)


def test_format_value() -> None:
    assert format_value(7) == "7"
    assert format_value({"a": 1, "b": {"c": 2, "d": [3, 4]}}) == "a=1 b.c=2 b.d=[3, 4]"
    assert format_value("0x0a") == "0x0a"


def test_snapshot_80x24(snap_compare: Any) -> None:
    samples = [make_sample(tick) for tick in range(1, 25)]
    assert snap_compare(StatsApp(samples), terminal_size=(80, 24))


def test_snapshot_ansi_80x24(snap_compare: Any) -> None:
    samples = [make_sample(tick) for tick in range(1, 25)]

    async def ansi(pilot: Any) -> None:
        pilot.app.theme = "ansi-dark"
        await pilot.pause()

    assert snap_compare(StatsApp(samples), terminal_size=(80, 24), run_before=ansi)


async def test_fits_the_live_tab_beside_the_lesson_list() -> None:
    sample = make_sample(3)
    sample["run"] = {"run_cnt": 5, "ns_per_run": None, "runs_per_s": 0.0}  # stats not enabled
    app = StatsApp([sample])
    async with app.run_test(size=(54, 24)) as pilot:
        await pilot.pause()
        lines = screen_text(app).splitlines()
    assert all(len(line.rstrip()) <= 54 for line in lines)
    assert any(line.startswith(" PASS") and "3,000" in line for line in lines)
    assert "5 runs  ·  – ns/run  ·  0 runs/s" in "\n".join(lines)


@pytest.mark.parametrize("theme", [None, "ansi-dark", "textual-light"])
async def test_fast_lines_draw_exactly_what_textual_would(theme: str | None) -> None:
    # CachedLines turns each line into segments itself (render_line) instead of going
    # through Textual's Content; text, styles and selection offsets must not differ.
    from tests.tui.cached_lines import lines_as_textual_draws_them
    from xdp_tui.widgets.live_stats import CachedLines

    app = StatsApp([make_sample(tick) for tick in range(1, 25)])
    async with app.run_test(size=(80, 24)) as pilot:
        if theme:
            app.theme = theme
        await pilot.pause()
        compared = sum(lines_as_textual_draws_them(w) for w in app.query(CachedLines))
        assert compared > 10


async def test_the_af_xdp_socket_line_shows_rates_totals_and_notes() -> None:
    """advanced03: the workshop's socket under the interface lines (and nothing otherwise)."""
    import dataclasses

    from xdp_tui.engine.afxdp import XskRates

    app = StatsApp([make_sample(1)])
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.query_one(LiveStats)
        await pilot.pause()
        assert "AF_XDP" not in screen_text(app)
        sample = dataclasses.replace(
            live(make_sample(2)),
            xsk=XskRates(rx_pps=1234.0, tx_pps=617.0, rx_packets=5000, tx_packets=2500),
            xsk_note="xdp_echo_reply did not load: refused",
        )
        stats.update_sample(sample)
        await pilot.pause()
        text = screen_text(app)
        assert "AF_XDP q0  rx 1,234 pps (5,000)  ·  tx 617 pps (2,500)" in text
        assert "AF_XDP     xdp_echo_reply did not load: refused" in text
