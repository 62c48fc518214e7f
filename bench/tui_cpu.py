"""CPU of the workshop TUI, idle and refreshing at 4 Hz, next to `watch -n 0.25 bpftool map dump`.

Run as root: `python bench/tui_cpu.py [--seconds 5]`. The app runs for real
(`xdp-tui --lab <private lab>`) in a detached tmux pane; CPU is read from
/proc/<pid>/stat (user + system time of all threads) over a fixed window.
The baseline runs in the same way in the same run, so the ratio holds on a
busy machine too. Refreshing is measured twice: on a quiet lab (numbers
unchanged, so little is redrawn) and with a UDP stream from inside the lab
(every number changes every tick). Also measured: time from starting the
command to the first screen (the lesson list drawn in the pane), median of
several starts, next to a minimal Textual app started the same way.

The refresh figures are also split into the UI thread (event loop and
drawing) and the other threads (sampler, terminal input), from
/proc/<pid>/task/*/schedstat.

Quicker runs while optimising: `--starts 0` skips the first-screen part,
`--no-save` leaves the results file alone, `--app-path DIR` runs the app
from another copy of the code (e.g. `git archive HEAD` unpacked) for an A/B
in the same minute, `--profile out.svg` adds a py-spy recording under traffic.

Targets (issue 6): ≤ 3 % of one core at 4 Hz; first screen ≤ 1 s.
Writes bench/results/tui_cpu.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import lacks_root, report  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
XDP_TUI = Path(sys.executable).parent / "xdp-tui"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def start_pane(session: str, command: str) -> int:
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", f"exec {command}")
    return int(tmux("list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])


def cpu_ticks(pid: int, *, children: bool = False) -> int:
    """utime + stime (+ waited-for children: watch's bpftool runs) of PID."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


def cpu_percent(pid: int, seconds: float, *, children: bool = False) -> float:
    """Percent of one core PID used over the next SECONDS."""
    start_ticks, start = cpu_ticks(pid, children=children), time.monotonic()
    time.sleep(seconds)
    used = (cpu_ticks(pid, children=children) - start_ticks) / CLK_TCK
    return round(100 * used / (time.monotonic() - start), 2)


def thread_ns(pid: int) -> dict[int, int]:
    """Nanoseconds on a CPU per thread of PID (/proc schedstat: finer than clock ticks)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
    return out


def cpu_split(pid: int, seconds: float) -> tuple[float, float, float]:
    """(percent of one core, of which the UI thread, of which the other threads) of PID."""
    before, start_ticks, start = thread_ns(pid), cpu_ticks(pid), time.monotonic()
    time.sleep(seconds)
    after, ticks, elapsed = thread_ns(pid), cpu_ticks(pid), time.monotonic() - start
    used = {tid: ns - before.get(tid, 0) for tid, ns in after.items()}
    ui = used.get(pid, 0) / 1e9  # the main thread runs the event loop and draws
    other = sum(ns for tid, ns in used.items() if tid != pid) / 1e9
    total = (ticks - start_ticks) / CLK_TCK

    def percent(x: float) -> float:
        return round(100 * x / elapsed, 2)

    return percent(total), percent(ui), percent(other)


def wait_for_text(session: str, needle: str, timeout: float = 30.0) -> float:
    """Seconds until NEEDLE shows in the pane (polled every 10 ms)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if needle in tmux("capture-pane", "-p", "-t", session):
            return time.monotonic() - start
        time.sleep(0.01)
    raise SystemExit(f"timeout waiting for {needle!r} in the pane")


def stats_map_id(dev: str) -> int:
    from xdp_tui.engine import attach, bpfsys

    prog_id = attach.query(dev).prog_id
    if prog_id is None:
        raise SystemExit("nothing attached: the app did not build/attach")
    for map_id in bpfsys.prog_info_by_id(prog_id).map_ids:
        if bpfsys.map_info_by_id(map_id).name == "xdp_stats_map":
            return map_id
    raise SystemExit("the attached program has no xdp_stats_map")


MINIMAL_APP = (
    "from textual.app import App; from textual.widgets import Static\n"
    "class A(App):\n"
    "    def compose(self):\n"
    "        yield Static('Lessons')\n"
    "A().run()\n"
)


def first_screen_s(
    session: str, command: str, starts: int, needles: tuple[str, ...] = ("Lessons",)
) -> list[float]:
    """Median seconds from starting COMMAND until each of NEEDLES is on screen (STARTS runs)."""
    times: list[list[float]] = [[] for _ in needles]
    for n in range(starts):
        started = time.monotonic()
        start_pane(f"{session}-{n}", command)
        for i, needle in enumerate(needles):
            wait_for_text(f"{session}-{n}", needle)
            times[i].append(time.monotonic() - started)
        tmux("kill-session", "-t", f"{session}-{n}")
        time.sleep(0.5)
    return [round(statistics.median(t), 3) for t in times]


def stream_in_background(lab: str, pps: int, stop: threading.Event) -> threading.Thread:
    """UDP from inside the lab, so the counters the app shows keep changing."""
    import testenv
    from testenv import traffic

    handle = testenv.get(lab)

    def send() -> None:
        while not stop.is_set():
            traffic.udp_stream(handle, pps=pps, duration=0.5)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def run(
    seconds: float,
    starts: int,
    pps: int,
    profile: Path | None = None,
    app_path: Path | None = None,
) -> dict[str, object]:
    import testenv

    lab = f"bcpu{os.getpid() % 10000}"
    state = Path(tempfile.mkdtemp(prefix="xdp-tui-bench-"))
    env = f"XDP_TUI_RUN_DIR={state}/run XDP_TUI_DATA_DIR={state}/data TERM=xterm-256color"
    if app_path is not None:  # another copy of the code (A/B against an older tree)
        env += f" PYTHONPATH={app_path}"
    os.environ["XDP_TUI_RUN_DIR"], os.environ["XDP_TUI_DATA_DIR"] = f"{state}/run", f"{state}/data"
    testenv.setup(lab)
    app_cmd = f"env {env} {XDP_TUI} --lab {lab}"
    minimal = state / "minimal_app.py"
    minimal.write_text(MINIMAL_APP)
    app_session, watch_session = f"bench-app-{lab}", f"bench-watch-{lab}"
    stop_traffic = threading.Event()
    try:
        # First frame (the lesson pane drawn), then lessons listed (first id in the status line).
        first_app = first_lesson = first_minimal = None
        if starts:
            first_app, first_lesson = first_screen_s(
                f"bench-first-{lab}", app_cmd, starts, ("Lessons", "basic01")
            )
            (first_minimal,) = first_screen_s(
                f"bench-min-{lab}", f"env TERM=xterm-256color {sys.executable} {minimal}", starts
            )

        pid = start_pane(app_session, app_cmd)
        wait_for_text(app_session, "basic01")
        time.sleep(3.0)  # let start-up work (lesson list, README, lab status) finish
        idle = cpu_percent(pid, seconds)

        tmux("send-keys", "-t", app_session, "Down", "Down")  # the stats-map lesson
        wait_for_text(app_session, "basic03")
        tmux("send-keys", "-t", app_session, "b")
        wait_for_text(app_session, "prog ")
        tmux("send-keys", "-t", app_session, "3")  # the Live tab: every number drawn
        time.sleep(3.0)  # the lesson README and the first samples settle
        refreshing_quiet, quiet_ui, quiet_other = cpu_split(pid, seconds)
        stream_in_background(lab, pps, stop_traffic)
        time.sleep(1.0)
        refreshing_traffic, traffic_ui, traffic_other = cpu_split(pid, seconds)
        if profile is not None:  # where the traffic-time CPU goes (py-spy flame graph)
            py_spy = Path(sys.executable).parent / "py-spy"
            subprocess.run(
                [py_spy, "record", "-s", "-r", "250", "-d", str(int(seconds)), "-p", str(pid),
                 "-f", "raw" if profile.suffix == ".txt" else "flamegraph", "-o", str(profile)],
                capture_output=True,
            )  # fmt: skip
        stop_traffic.set()

        map_id = stats_map_id(lab)
        watch_pid = start_pane(watch_session, f"watch -n 0.25 bpftool map dump id {map_id}")
        time.sleep(1.0)
        baseline = cpu_percent(watch_pid, seconds, children=True)
    finally:
        stop_traffic.set()
        tmux("send-keys", "-t", app_session, "q")
        time.sleep(1.0)
        tmux("kill-session", "-t", app_session)
        tmux("kill-session", "-t", watch_session)
        testenv.teardown(lab)
        shutil.rmtree(state, ignore_errors=True)  # the app's private run/data dirs
    return {
        "bench": "tui_cpu",
        "window_s": seconds,
        "first_screen_s_median": first_app,
        "first_lesson_listed_s_median": first_lesson,
        "baseline_minimal_textual_first_screen_s_median": first_minimal,
        "first_screen_ratio_vs_minimal": (
            round(first_app / first_minimal, 2) if first_app and first_minimal else None
        ),
        "app_idle_cpu_pct": idle,
        "app_refresh_4hz_quiet_cpu_pct": refreshing_quiet,
        "app_refresh_4hz_traffic_cpu_pct": refreshing_traffic,
        "traffic_pps": pps,
        # Where the refresh CPU goes: the UI thread (event loop, drawing) and the
        # others (the sampler worker, terminal input), from /proc schedstat.
        "refresh_quiet_ui_thread_pct": quiet_ui,
        "refresh_quiet_other_threads_pct": quiet_other,
        "refresh_traffic_ui_thread_pct": traffic_ui,
        "refresh_traffic_other_threads_pct": traffic_other,
        "baseline_watch_bpftool_4hz_cpu_pct": baseline,
        "ratio_refresh_traffic_vs_baseline": (
            round(refreshing_traffic / baseline, 2) if baseline else None
        ),
        "targets": {"refresh_4hz_cpu_pct_max": 3.0, "first_screen_s_max": 1.0},
        "met": {
            "cpu_quiet": refreshing_quiet <= 3.0,
            "cpu_traffic": refreshing_traffic <= 3.0,
            "first_screen": first_app <= 1.0 if first_app is not None else None,
        },
        "load_avg": os.getloadavg(),
        "cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring window")
    parser.add_argument(
        "--starts", type=int, default=5, help="starts timed (median); 0 skips the first-screen part"
    )
    parser.add_argument("--pps", type=int, default=1000, help="traffic while refreshing")
    parser.add_argument(
        "--profile", type=Path, help="also py-spy the app under traffic (.svg, or .txt: collapsed)"
    )
    parser.add_argument(
        "--app-path", type=Path, help="run the app from this tree (PYTHONPATH) to compare versions"
    )
    parser.add_argument("--no-save", action="store_true", help="do not write results/tui_cpu.json")
    args = parser.parse_args()
    if lacks_root("bench/tui_cpu.py needs root (it attaches XDP programs)"):
        return 2
    result = run(args.seconds, args.starts, args.pps, args.profile, args.app_path)
    return report("tui_cpu", result, save=not args.no_save)


if __name__ == "__main__":
    sys.exit(main())
