"""Live numbers for an interface's XDP program: decoded maps, per-action rates,
interface rates and program run statistics.

`StatsSampler(dev).sample()` returns exactly one `xdp-tui stats --json` object:

    {"time": 1764064800.5, "dev": "test01", "prog_id": 42, "prog_name": "xdp_pass_func",
     "maps": {"xdp_stats_map": {"type": "percpu_array", "entries": [{"key": 2, "value": {...}}]}},
     "actions": {"XDP_PASS": {"packets": 10, "bytes": 1180, "pps": 4.0, "bps": 3776.0}, ...},
     "interface": {"rx_packets": ..., "rx_pps": ..., ...}}

`actions` is there when the program has the tutorial's stats map
(`xdp_stats_map`, keyed by XDP action, values `{rx_packets, rx_bytes}`).
Rates are deltas over `time.monotonic()`. When the program is replaced (its id
or the stats map id changes) the sampler starts again from the new counters
instead of reporting negative rates.
"""

from __future__ import annotations

import contextlib
import ctypes as C
import json
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xdp_tui.engine import bpfsys
from xdp_tui.engine._lib import call_error, cfunc
from xdp_tui.engine.actions import XDP_ACTIONS
from xdp_tui.engine.attach import ifindex_of
from xdp_tui.engine.maps import VALUE_BTF, DecodedMap, ProgMaps
from xdp_tui.errors import XdpTuiError

ACTION_NAMES = XDP_ACTIONS
STATS_MAP = "xdp_stats_map"
HISTORY_LEN = 120

Sample = dict[str, Any]  # one `xdp-tui stats --json` object (see the module docstring)
IFACE_COUNTERS = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")

# Field names the per-action counters may carry (the tutorial's, then plainer ones).
PACKET_FIELDS = ("rx_packets", "packets", "pkts")
BYTE_FIELDS = ("rx_bytes", "bytes")


# ---- which program is on the interface -----------------------------------

_xdp_query_id = cfunc("bpf_xdp_query_id", C.c_int, C.c_int, C.c_int, C.POINTER(C.c_uint32))


def attached_prog_id(dev: str) -> int | None:
    """The id of the XDP program on DEV (attached in one mode), or None.

    One netlink request through libbpf, as `attach.query` makes, but without
    its attach record and program name: the live view asks this 4 times a
    second.
    """
    prog_id = C.c_uint32(0)
    ret = _xdp_query_id(ifindex_of(dev), 0, C.byref(prog_id))
    if ret != 0:
        raise call_error(ret, f"querying the XDP program on {dev}")
    return prog_id.value or None


# ---- interface counters ----------------------------------------------------


def read_iface_counters(dev: str) -> dict[str, int] | None:
    """rx/tx packets and bytes from sysfs (root netns only); None if DEV is gone."""
    base = f"/sys/class/net/{dev}/statistics/"
    counters = {}
    try:
        for name in IFACE_COUNTERS:  # raw reads: pathlib costs 3x more at 4 Hz
            fd = os.open(base + name, os.O_RDONLY)
            try:
                counters[name] = int(os.read(fd, 32))
            finally:
                os.close(fd)
    except (OSError, ValueError):
        return None
    return counters


# ---- per-action counters ---------------------------------------------------


@dataclass
class ActionCount:
    packets: int = 0
    bytes: int = 0


def _pick(value: dict[str, Any], names: tuple[str, ...]) -> int:
    for name in names:
        v = value.get(name)
        if isinstance(v, int):
            return v
    return 0


def action_counts(stats_map: DecodedMap) -> dict[str, ActionCount] | None:
    """Totals per XDP action from a decoded stats map, or None if it is not one.

    A stats map has at most a few slots keyed by action (u32 or enum xdp_action)
    and a value that is a counter or a struct of counters.
    """
    if stats_map.max_entries > len(ACTION_NAMES) + 1:
        return None  # e.g. AF_XDP lesson's per-queue counter with the same name
    if stats_map.value_format != VALUE_BTF:
        return None  # no BTF: which word counts packets would be a guess; shown as a map
    out = {name: ActionCount() for name in ACTION_NAMES}
    for entry in stats_map.entries:
        key, value = entry["key"], entry["value"]
        name = ACTION_NAMES[key] if isinstance(key, int) and 0 <= key < len(ACTION_NAMES) else key
        if name not in out:
            continue
        if isinstance(value, int):
            out[name] = ActionCount(packets=value)
        elif isinstance(value, dict):
            out[name] = ActionCount(_pick(value, PACKET_FIELDS), _pick(value, BYTE_FIELDS))
    return out


# Value types that hold a plain counter (the key's packet count) in the maps of lessons.
COUNTER_TYPES = frozenset(
    {"__u64", "u64", "__u32", "u32", "__s64", "s64", "long long", "unsigned long long",
     "long", "unsigned long", "unsigned int", "int"}
)  # fmt: skip


def key_counts(m: DecodedMap) -> dict[str, tuple[Any, ActionCount]]:
    """Per-key counters of any map whose values count packets (and maybe bytes).

    A value counts if it is a plain integer counter or a struct with a
    packets-like field. Keys come back as JSON text (so struct keys can be
    dict keys) with the decoded key alongside.
    """
    out: dict[str, tuple[Any, ActionCount]] = {}
    for entry in m.entries:
        value = entry["value"]
        if isinstance(value, int) and not isinstance(value, bool):
            if m.value_type not in COUNTER_TYPES:
                continue
            count = ActionCount(packets=value)
        elif isinstance(value, dict) and any(isinstance(value.get(n), int) for n in PACKET_FIELDS):
            count = ActionCount(_pick(value, PACKET_FIELDS), _pick(value, BYTE_FIELDS))
        else:
            continue
        out[json.dumps(entry["key"], sort_keys=True)] = (entry["key"], count)
    return out


class RateTracker:
    """Turns cumulative counters into rates; restarts when told the source changed."""

    def __init__(self, history_len: int = HISTORY_LEN) -> None:
        self.history_len = history_len
        self._prev: dict[str, tuple[int, int]] = {}
        self._prev_time: float | None = None
        self._source: object = None
        self.pps_history: dict[str, deque[float]] = {}
        self.bps_history: dict[str, deque[float]] = {}

    def update(
        self, now: float, counts: dict[str, ActionCount], source: object
    ) -> dict[str, dict[str, float | int]]:
        if source != self._source:  # new program or map: old counters mean nothing now
            self._prev, self._prev_time, self._source = {}, None, source
        dt = now - self._prev_time if self._prev_time is not None else 0.0
        out: dict[str, dict[str, float | int]] = {}
        current: dict[str, tuple[int, int]] = {}  # keys that vanished are forgotten
        for name, c in counts.items():
            pps = bps = 0.0
            prev = self._prev.get(name)
            if prev is not None and dt > 0:
                dp, db = c.packets - prev[0], c.bytes - prev[1]
                if dp >= 0 and db >= 0:  # a counter that went down was reset: skip once
                    pps, bps = dp / dt, db * 8 / dt
            current[name] = (c.packets, c.bytes)
            out[name] = {"packets": c.packets, "bytes": c.bytes, "pps": pps, "bps": bps}
            if prev is not None and self.history_len:
                self._remember(name, pps, bps)
        self._prev, self._prev_time = current, now
        return out

    def _remember(self, name: str, pps: float, bps: float) -> None:
        if name not in self.pps_history:
            self.pps_history[name] = deque(maxlen=self.history_len)
            self.bps_history[name] = deque(maxlen=self.history_len)
        self.pps_history[name].append(pps)
        self.bps_history[name].append(bps)


# ---- the sampler -----------------------------------------------------------


class StatsSampler:
    """Samples one interface's XDP program (or a fixed program id) on demand.

    Call `sample()` at any pace; rates are computed between consecutive calls.
    `history[action]` holds the last HISTORY_LEN pps values (for sparklines).
    Close it (or use `with`) to release the map fds and the run-stats fd.
    """

    def __init__(
        self,
        dev: str | None = None,
        *,
        prog_id: int | None = None,
        run_stats: bool = False,
        include_internal: bool = False,
        history_len: int = HISTORY_LEN,
        skip_maps_over: int | None = None,
        runs_instead: Callable[[], int | None] | None = None,
    ) -> None:
        """RUNS_INSTEAD (with PROG_ID): the id of the program running in PROG_ID's stead
        just now, or None (a capture's twin swapped into its link, engine/capture_twin):
        PROG_ID stays the one shown, with its maps (the twin shares them), while the run
        counts come from the program that actually runs."""
        if dev is None and prog_id is None:
            raise XdpTuiError("StatsSampler needs an interface or a program id")
        self.dev = dev
        self.fixed_prog_id = prog_id
        self.runs_instead = runs_instead
        self.include_internal = include_internal
        self.skip_maps_over = skip_maps_over  # max_entries above which a map is not read
        self._maps: ProgMaps | None = None
        self._prog_name = ""
        self._actions = RateTracker(history_len)
        self._iface = RateTracker(history_len)
        self._key_rates: dict[str, RateTracker] = {}  # per map name: rates per key
        self.run_stats: RunStats | None = None
        if run_stats:  # run counts are a bonus: without them the sample has no "run" part
            with contextlib.suppress(XdpTuiError):
                self.run_stats = RunStats()

    # pps history per action, for sparklines
    @property
    def history(self) -> dict[str, deque[float]]:
        return self._actions.pps_history

    @property
    def bps_history(self) -> dict[str, deque[float]]:
        return self._actions.bps_history

    @property
    def iface_history(self) -> dict[str, deque[float]]:
        return self._iface.pps_history

    def current_prog_id(self) -> int | None:
        if self.fixed_prog_id is not None:
            return self.fixed_prog_id
        assert self.dev is not None
        return attached_prog_id(self.dev)

    def _prog_maps(self, prog_id: int | None) -> ProgMaps | None:
        """The open maps of PROG_ID, reopened when the program changed."""
        if self._maps is not None and self._maps.prog_id == prog_id:
            return self._maps
        if self._maps is not None:
            self._maps.close()
            self._maps = None
        if prog_id is None:
            return None
        try:
            self._maps = ProgMaps(
                prog_id, include_internal=self.include_internal, max_entries=self.skip_maps_over
            )
            self._prog_name = bpfsys.prog_info_by_id(prog_id).name
        except XdpTuiError:
            return None  # replaced between query and open; the next sample catches up
        return self._maps

    def sample(self) -> Sample:
        now, wall = time.monotonic(), time.time()
        prog_id = self.current_prog_id()
        prog_maps = self._prog_maps(prog_id)
        decoded = prog_maps.refresh() if prog_maps is not None else {}
        out: dict[str, Any] = {
            "time": wall,
            "dev": self.dev,
            "prog_id": prog_id if prog_maps is not None else None,
            "prog_name": self._prog_name if prog_maps is not None else None,
            "maps": {name: m.to_dict() for name, m in decoded.items()},
        }
        stats_map = decoded.get(STATS_MAP)
        counts = action_counts(stats_map) if stats_map is not None else None
        if counts is not None and stats_map is not None:
            # Rates use the moment the map was read, not the start of sample():
            # finding the program first costs a netlink round trip of varying length.
            read_at = stats_map.read_at or now
            out["actions"] = self._actions.update(read_at, counts, (prog_id, stats_map.id))
        self._add_key_rates(out, decoded, prog_id, skip=STATS_MAP if "actions" in out else None)
        if self.dev is not None:
            iface = self._iface_rates()
            if iface is not None:
                out["interface"] = iface
        if self.run_stats is not None and prog_id is not None and prog_maps is not None:
            out["run"] = self.run_stats.rates(self.running(prog_id))
        return out

    def running(self, prog_id: int) -> int:
        """The program whose runs count for PROG_ID now: a stand-in's while one runs."""
        stand_in = self.runs_instead() if self.runs_instead is not None else None
        return stand_in or prog_id

    def _add_key_rates(
        self,
        out: dict[str, Any],
        decoded: dict[str, DecodedMap],
        prog_id: int | None,
        skip: str | None,
    ) -> None:
        """`maps[NAME]["rates"]`: pps and bit/s per key, for maps whose values are counters."""
        for name, m in decoded.items():
            counts = key_counts(m) if name != skip else {}
            if not counts:
                continue
            tracker = self._key_rates.setdefault(name, RateTracker(history_len=0))
            rates = tracker.update(
                m.read_at or time.monotonic(),
                {k: count for k, (_, count) in counts.items()},
                (prog_id, m.id),
            )
            out["maps"][name]["rates"] = [
                {"key": key, "pps": rates[k]["pps"], "bps": rates[k]["bps"]}
                for k, (key, _) in counts.items()
            ]
        for name in list(self._key_rates):
            if name not in decoded:
                del self._key_rates[name]

    def _iface_rates(self) -> dict[str, float | int] | None:
        assert self.dev is not None
        raw = read_iface_counters(self.dev)
        if raw is None:
            return None
        now = time.monotonic()
        counts = {
            "rx": ActionCount(raw["rx_packets"], raw["rx_bytes"]),
            "tx": ActionCount(raw["tx_packets"], raw["tx_bytes"]),
        }
        rates = self._iface.update(now, counts, self.dev)
        return {
            "rx_packets": raw["rx_packets"],
            "rx_bytes": raw["rx_bytes"],
            "tx_packets": raw["tx_packets"],
            "tx_bytes": raw["tx_bytes"],
            "rx_pps": rates["rx"]["pps"],
            "rx_bps": rates["rx"]["bps"],
            "tx_pps": rates["tx"]["pps"],
            "tx_bps": rates["tx"]["bps"],
        }

    def close(self) -> None:
        if self._maps is not None:
            self._maps.close()
            self._maps = None
        if self.run_stats is not None:
            self.run_stats.close()

    def __enter__(self) -> StatsSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- program run statistics -----------------------------------------------


class RunStats:
    """Program run counts and run time, the way bpftop gets them.

    The kernel only accounts run time while someone holds a BPF_ENABLE_STATS
    fd (or the sysctl kernel.bpf_stats_enabled is 1, which we never write).
    This object holds such an fd until `close()`; dying closes it too, so the
    accounting never stays on by accident.
    """

    def __init__(self) -> None:
        self._fd: bpfsys.Fd | None = bpfsys.enable_stats()
        self._prev: dict[int, tuple[float, int, int]] = {}

    @property
    def active(self) -> bool:
        return self._fd is not None

    def read(self, prog_id: int) -> tuple[int, int]:
        """(run_cnt, run_time_ns) of PROG_ID since it was loaded (while accounting was on)."""
        info = bpfsys.prog_info_by_id(prog_id)
        return info.run_cnt, info.run_time_ns

    def rates(self, prog_id: int, now: float | None = None) -> dict[str, float | int]:
        """Totals plus ns per run and runs per second since the previous call."""
        now = time.monotonic() if now is None else now
        try:
            run_cnt, run_time_ns = self.read(prog_id)
        except XdpTuiError:
            return {"run_cnt": 0, "run_time_ns": 0, "ns_per_run": 0.0, "runs_per_s": 0.0}
        ns_per_run = run_time_ns / run_cnt if run_cnt else 0.0
        runs_per_s = 0.0
        prev = self._prev.get(prog_id)
        if prev is not None and now > prev[0] and run_cnt >= prev[1]:
            runs_per_s = (run_cnt - prev[1]) / (now - prev[0])
            if run_cnt > prev[1]:  # recent cost, not the lifetime average
                ns_per_run = (run_time_ns - prev[2]) / (run_cnt - prev[1])
        self._prev[prog_id] = (now, run_cnt, run_time_ns)
        return {
            "run_cnt": run_cnt,
            "run_time_ns": run_time_ns,
            "ns_per_run": ns_per_run,
            "runs_per_s": runs_per_s,
        }

    def close(self) -> None:
        if self._fd is not None:
            self._fd.close()
            self._fd = None

    def __enter__(self) -> RunStats:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
