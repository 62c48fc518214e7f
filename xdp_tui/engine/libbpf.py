"""A BPF object file, opened and loaded through libbpf (ctypes on libbpf.so.1).

    with BpfObject.open(Path("prog.o")) as obj:
        obj.xdp_programs                 # ["xdp_pass_func", "xdp_drop_func"]
        obj.load("xdp_drop_func", pin_dir=Path("/sys/fs/bpf/test01"))
        fd = obj.program_fd("xdp_drop_func")

Only the chosen program is loaded (the others have autoload switched off), so
one broken function in a lesson file does not stop a learner from loading a
working one. Every map that is not a compiler-made `.data/.bss/.rodata` map
gets a pin path under `pin_dir` before loading: libbpf then reuses a pinned
map of the same shape (with its values) or pins the new one there.
"""

from __future__ import annotations

import ctypes as C
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xdp_tui.engine._lib import (
    CallError,
    LibbpfErrno,
    call_error,
    capture_libbpf_log,
    cfunc,
    errno_of,
)
from xdp_tui.engine.closable import Closable
from xdp_tui.errors import XdpTuiError

P = C.c_void_p

_open_file = cfunc("bpf_object__open_file", P, C.c_char_p, P)
_obj_load = cfunc("bpf_object__load", C.c_int, P)
_obj_close = cfunc("bpf_object__close", None, P)
_next_program = cfunc("bpf_object__next_program", P, P, P)
_next_map = cfunc("bpf_object__next_map", P, P, P)
_find_program = cfunc("bpf_object__find_program_by_name", P, P, C.c_char_p)
_find_map = cfunc("bpf_object__find_map_by_name", P, P, C.c_char_p)

_prog_name = cfunc("bpf_program__name", C.c_char_p, P)
_prog_section = cfunc("bpf_program__section_name", C.c_char_p, P)
_prog_type = cfunc("bpf_program__type", C.c_int, P)
_prog_fd = cfunc("bpf_program__fd", C.c_int, P)
_prog_set_autoload = cfunc("bpf_program__set_autoload", C.c_int, P, C.c_bool)
_prog_set_log_buf = cfunc("bpf_program__set_log_buf", C.c_int, P, C.c_char_p, C.c_size_t)
_prog_set_log_level = cfunc("bpf_program__set_log_level", C.c_int, P, C.c_uint32)
_prog_set_type = cfunc("bpf_program__set_type", C.c_int, P, C.c_int)
_prog_type_str = cfunc("libbpf_bpf_prog_type_str", C.c_char_p, C.c_int)

_map_name = cfunc("bpf_map__name", C.c_char_p, P)
_map_type = cfunc("bpf_map__type", C.c_int, P)
_map_key_size = cfunc("bpf_map__key_size", C.c_uint32, P)
_map_value_size = cfunc("bpf_map__value_size", C.c_uint32, P)
_map_max_entries = cfunc("bpf_map__max_entries", C.c_uint32, P)
_map_fd = cfunc("bpf_map__fd", C.c_int, P)
_map_flags = cfunc("bpf_map__map_flags", C.c_uint32, P)
_map_is_internal = cfunc("bpf_map__is_internal", C.c_bool, P)
_map_set_pin_path = cfunc("bpf_map__set_pin_path", C.c_int, P, C.c_char_p)
_map_reuse_fd = cfunc("bpf_map__reuse_fd", C.c_int, P, C.c_int)
_map_type_str = cfunc("libbpf_bpf_map_type_str", C.c_char_p, C.c_int)

BPF_PROG_TYPE_XDP = 6
# The kernel keeps the tail of a longer log (the part with the error), so
# 1 MiB is enough even for a program that hits the 1M-instruction limit.
LOG_BUF_SIZE = 1 << 20
ELF_MAGIC = b"\x7fELF"
# Lesson objects are kilobytes; a huge "object" is a mistake (or a sparse file).
OBJECT_MAX_BYTES = 256 << 20


@dataclass(frozen=True)
class ProgramSpec:
    name: str
    section: str
    type: str  # "xdp", "tracepoint", ... as libbpf reads the section name

    @property
    def is_xdp(self) -> bool:
        """Loaded as XDP: libbpf says so, or the section name starts with `xdp`.

        The tutorial's and many older programs use sections such as
        `xdp_patch_ports` or `xdp_fail1`, which libbpf 1.x does not know
        (type "unspec"); xdp-loader and `bpftool prog load ... type xdp`
        load them as XDP, and so do we (the type is set before loading).
        """
        return self.type == "xdp" or (self.type == "unspec" and self.section.startswith("xdp"))

    @property
    def listing(self) -> str:
        """`name (section S)` or, for another type, `name (tracepoint, section S)`."""
        if self.is_xdp:
            return f"{self.name} (section {self.section})"
        return f"{self.name} ({self.type}, section {self.section})"


@dataclass(frozen=True)
class MapSpec:
    name: str
    type: str  # "hash", "percpu_array", ...
    key_size: int
    value_size: int
    max_entries: int


def _text(raw: bytes | None) -> str:
    return raw.decode(errors="replace") if raw else ""


def _libbpf_lines(messages: list[tuple[int, str]]) -> str:
    return "".join(text for _, text in messages)


class BpfObject(Closable):
    """An opened (and maybe loaded) object file. Use as a context manager or call close()."""

    def __init__(self, path: Path, handle: int, source: Path | None = None) -> None:
        self.path = path
        self.source = source  # the C file it was built from, to locate verifier errors
        self._obj: int | None = handle
        self.loaded_program: str | None = None
        self.pin_dir: Path | None = None
        self.pinned_now: list[Path] = []  # maps this load pinned (they did not exist before)
        self.reused_pins: list[Path] = []
        # Pins of another shape that `replaceable` allowed us to replace: (pin, what changed).
        self.replaced_pins: list[tuple[Path, str]] = []
        self._log_buf: C.Array[C.c_char] | None = None
        self._pins_before: set[str] = set()

    # ---- open ------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, source: Path | None = None) -> BpfObject:
        path = Path(path)
        _check_is_object(path)
        with capture_libbpf_log() as messages:
            handle = _open_file(str(path).encode(), None)
        if not handle:
            err = errno_of(handle)
            log = _libbpf_lines(messages)
            if "legacy map definitions" in log:  # old kernel samples' maps
                raise XdpTuiError(
                    'maps declared as struct bpf_map_def in SEC("maps"): libbpf 1.0+ no longer reads them',
                    location=str(path),
                    hint="declare each map BTF-style: struct { __uint(type, ...); __type(key, ...); "
                    '__type(value, ...); __uint(max_entries, N); } name SEC(".maps");',
                    detail=log,
                )
            if err in (LibbpfErrno.LIBELF, LibbpfErrno.FORMAT) or "elf" in log.lower():
                raise XdpTuiError(
                    "not a valid BPF object file (libbpf could not parse the ELF)",
                    location=str(path),
                    hint="build it from C with `xdp-tui build FILE.c`",
                    detail=log,
                )
            raise CallError("libbpf could not open the object", err, location=str(path), detail=log)
        obj = cls(path, handle, source)
        if not obj.programs:
            obj.close()
            raise XdpTuiError(
                "no program section in the object: no function is marked as a BPF program",
                location=str(path),
                hint='put SEC("xdp") on the line before your XDP function',
            )
        return obj

    def close(self) -> None:
        """Free libbpf's object and every fd it holds (loaded programs and maps)."""
        if self._obj:
            _obj_close(self._obj)
            self._obj = None

    @property
    def where(self) -> str:
        """The file to name in messages: the C source when we know it."""
        return str(self.source or self.path)

    @property
    def handle(self) -> int:
        if not self._obj:
            raise XdpTuiError("the BPF object is already closed", location=str(self.path))
        return self._obj

    # ---- what is inside --------------------------------------------------

    def _program_handles(self) -> list[int]:
        found, prog = [], _next_program(self.handle, None)
        while prog:
            found.append(prog)
            prog = _next_program(self.handle, prog)
        return found

    def _map_handles(self) -> list[int]:
        found, m = [], _next_map(self.handle, None)
        while m:
            found.append(m)
            m = _next_map(self.handle, m)
        return found

    @property
    def programs(self) -> list[ProgramSpec]:
        """The object's programs. Functions left in `.text` (no SEC) are helpers, not programs."""
        return [
            ProgramSpec(
                name=_text(_prog_name(p)),
                section=_text(_prog_section(p)),
                type=_text(_prog_type_str(_prog_type(p))) or str(_prog_type(p)),
            )
            for p in self._program_handles()
            if _text(_prog_section(p)) != ".text"
        ]

    @property
    def xdp_programs(self) -> list[str]:
        return [p.name for p in self.programs if p.is_xdp]

    @property
    def maps(self) -> list[MapSpec]:
        """The maps a program uses, without the compiler-made .data/.bss/.rodata ones."""
        return [
            MapSpec(
                name=_text(_map_name(m)),
                type=_text(_map_type_str(_map_type(m))) or str(_map_type(m)),
                key_size=int(_map_key_size(m)),
                value_size=int(_map_value_size(m)),
                max_entries=int(_map_max_entries(m)),
            )
            for m in self._map_handles()
            if not _map_is_internal(m)
        ]

    # ---- load ------------------------------------------------------------

    def _loaded_with(self, name: str, xdp: bool) -> set[str]:
        """NAME, and with a tail-call map every XDP program of the object: the targets must
        be loaded too (a prog array set up in C refused to load with its targets left out).

        Otherwise NAME alone, so a broken other function does not stop the chosen one.
        """
        if xdp and any(spec.type == "prog_array" for spec in self.maps):
            return {name, *self.xdp_programs}
        return {name}

    def choose_program(self, program: str | None, *, xdp_only: bool = True) -> str:
        """Resolve which XDP program to load; clear errors for unknown or ambiguous names,
        and for programs of another type (listed with their type, then refused) unless
        not XDP_ONLY (the tracepoint and TC programs of tracing01 and advanced01)."""
        specs = self.programs
        xdp = [p for p in specs if p.is_xdp]
        if program is None:
            if len(xdp) == 1:
                return xdp[0].name
            if not xdp:
                raise XdpTuiError(
                    "the object has no XDP program (no function in a section whose name "
                    'starts with "xdp")',
                    location=self.where,
                    hint=f"programs found: {_listing(specs)}" if specs else None,
                )
            raise XdpTuiError(
                f"the object has {len(xdp)} XDP programs; choose one: {_listing(xdp)}",
                location=self.where,
                hint="pass the function name, e.g. `--prog " + xdp[0].name + "`",
                tui_hint="press P to choose one",
            )
        chosen = next((p for p in specs if p.name == program), None)
        if chosen is None:
            raise XdpTuiError(
                f"no program named '{program}' in the object; available: {_listing(xdp or specs)}",
                location=self.where,
                hint="use the C function name of the program",
            )
        if xdp_only and not chosen.is_xdp:
            raise _not_xdp_error(chosen, xdp, self.where)
        return program

    def load(
        self,
        program: str | None = None,
        *,
        pin_dir: Path | None = None,
        replaceable: Callable[[Path], bool] | None = None,
        prog_type: int = BPF_PROG_TYPE_XDP,
    ) -> str:
        """Load PROGRAM (only it) and create or reuse the maps; returns the program's name.

        PROG_TYPE other than XDP (engine/tracepoint.py, engine/tc.py) loads a
        program of that type, which must then be named.

        A pinned map of another shape than the object's is unpinned and made
        anew when `replaceable(pin)` says so (xdp-tui pinned it: the learner
        changed the map), listed in `replaced_pins`; otherwise it is refused
        with an explanation. Raises VerifierError when the kernel refuses the
        program.
        """
        from xdp_tui.engine.verifier import explain_load_failure

        xdp = prog_type == BPF_PROG_TYPE_XDP
        if not xdp and program is None:
            raise XdpTuiError("which program? name it", location=self.where)
        name = self.choose_program(program, xdp_only=xdp)
        together = self._loaded_with(name, xdp)
        for prog in self._program_handles():
            prog_name = _text(_prog_name(prog))
            _prog_set_autoload(prog, prog_name in together)
            if prog_name in together:
                # Say it is XDP instead of letting libbpf guess from the section name
                # (it refuses `xdp_patch_ports` with "missing BPF prog type").
                _prog_set_type(prog, prog_type)
        chosen = _find_program(self.handle, name.encode())
        # Log level 0 with a buffer: libbpf asks for the verifier log (level 1)
        # only when a load fails, so a success never runs out of log space.
        self._log_buf = C.create_string_buffer(LOG_BUF_SIZE)
        _prog_set_log_buf(chosen, self._log_buf, LOG_BUF_SIZE)
        _prog_set_log_level(chosen, 0)
        if pin_dir is not None:
            self._set_pin_paths(Path(pin_dir), replaceable)
        else:
            self._clear_pin_paths()

        with capture_libbpf_log() as messages:
            ret = _obj_load(self.handle)
        if ret == 0:
            self.loaded_program = name
            self._note_pins()
            return name

        err = errno_of(ret)
        libbpf_log = _libbpf_lines(messages)
        verifier_log = self._log_buf.value.decode(errors="replace")
        self._forget_pins_on_failure()
        pin_problem = _pin_mismatch(libbpf_log)
        if pin_problem is not None:
            raise _incompatible_pin_error(
                pin_problem, self.pin_dir, "its flags differ", detail=libbpf_log
            )
        raise explain_load_failure(
            name, err, verifier_log, libbpf_log, self.path, source=self.source
        )

    def _set_pin_paths(self, pin_dir: Path, replaceable: Callable[[Path], bool] | None) -> None:
        self.pin_dir = pin_dir
        pin_dir.mkdir(parents=True, exist_ok=True)
        for m in self._map_handles():
            if _map_is_internal(m):
                continue
            target = pin_dir / _text(_map_name(m))
            changed = _shape_change(m, target)
            if changed is not None:
                if replaceable is None or not replaceable(target):
                    foreign = replaceable is not None  # the caller knows whose pins are whose
                    raise _incompatible_pin_error(str(target), pin_dir, changed, foreign=foreign)
                target.unlink()
                self.replaced_pins.append((target, changed))
        self._pins_before = {p.name for p in pin_dir.iterdir()}
        for m in self._map_handles():
            if _map_is_internal(m):
                continue
            target = pin_dir / _text(_map_name(m))
            if _map_type(m) in _KERNEL_FLAGGED_MAP_TYPES and target.exists():
                self._reuse_pinned_by_hand(m, target)
                continue
            ret = _map_set_pin_path(m, str(target).encode())
            if ret != 0:
                raise call_error(
                    ret, f"cannot set the pin path of map '{target.name}'", location=str(self.path)
                )

    def _reuse_pinned_by_hand(self, m: int, pin: Path) -> None:
        """Reuse a pinned devmap/cpumap ourselves.

        The kernel adds BPF_F_RDONLY_PROG to these maps' flags, and libbpf 1.1
        compares flags when reusing a pin, so its own reuse always refuses
        them. We compare what matters and hand libbpf the pinned fd instead.
        """
        from xdp_tui.engine import bpfsys

        with bpfsys.obj_get(pin) as fd:
            info = bpfsys.map_info(int(fd))
            wanted = (_map_type(m), _map_key_size(m), _map_value_size(m), _map_max_entries(m))
            if (info.type, info.key_size, info.value_size, info.max_entries) != wanted:
                raise _incompatible_pin_error(str(pin), self.pin_dir, "its shape changed")
            ret = _map_reuse_fd(m, int(fd))  # libbpf keeps its own duplicate of the fd
        if ret != 0:
            raise call_error(ret, f"cannot reuse the pinned map {pin}", location=str(pin))
        _map_set_pin_path(m, None)

    def _clear_pin_paths(self) -> None:
        """No pinning at all, even for maps declared with LIBBPF_PIN_BY_NAME.

        libbpf would otherwise pin those at /sys/fs/bpf/<map>, shared by every
        interface and every lesson check running at the same time.
        """
        for m in self._map_handles():
            if not _map_is_internal(m):
                _map_set_pin_path(m, None)

    def _note_pins(self) -> None:
        if self.pin_dir is None:
            return
        for spec in self.maps:
            pin = self.pin_dir / spec.name
            if spec.name in self._pins_before:
                self.reused_pins.append(pin)
            elif pin.exists():
                self.pinned_now.append(pin)

    def _forget_pins_on_failure(self) -> None:
        """libbpf may have pinned some maps before the program failed: remove those."""
        if self.pin_dir is None:
            return
        for spec in self.maps:
            if spec.name not in self._pins_before:
                (self.pin_dir / spec.name).unlink(missing_ok=True)

    def unpin_new_maps(self) -> None:
        """Undo the pins this load created (used when a later step fails)."""
        for pin in self.pinned_now:
            pin.unlink(missing_ok=True)
        self.pinned_now.clear()

    # ---- fds -------------------------------------------------------------

    def program_fd(self, name: str) -> int:
        prog = _find_program(self.handle, name.encode())
        fd = _prog_fd(prog) if prog else -1
        if fd < 0:
            raise XdpTuiError(f"program '{name}' is not loaded", location=str(self.path))
        return int(fd)

    def map_fd(self, name: str) -> int:
        m = _find_map(self.handle, name.encode())
        fd = _map_fd(m) if m else -1
        if fd < 0:
            raise XdpTuiError(f"map '{name}' is not loaded", location=str(self.path))
        return int(fd)

    def map_fds(self) -> dict[str, int]:
        return {spec.name: self.map_fd(spec.name) for spec in self.maps}


@dataclass(kw_only=True)
class LinkedProgram(Closable):
    """One program of a loaded BpfObject held on its hook by a BPF link (tc, tracepoint).

    close() drops the link first, so the program leaves its hook, then frees the
    object with its maps; safe to call twice. Subclasses (dataclasses) say in
    _drop_link how their kind of link goes.
    """

    maps: dict[str, int]  # map name -> fd, held by obj
    obj: BpfObject | None = None

    def _drop_link(self) -> None:
        """Release the link if it is still held (called again after a close: a no-op)."""
        raise NotImplementedError

    def close(self) -> None:
        """Detach the program (its link goes) and free it with its maps; safe to call twice."""
        self._drop_link()
        if self.obj is not None:
            self.obj.close()
            self.obj = None
        self.maps = {}


def _listing(specs: list[ProgramSpec]) -> str:
    return ", ".join(spec.listing for spec in specs)


# What to use instead of xdp-tui for the program types a learner meets in
# the tutorial's world.
_OTHER_TOOLS = {
    "sched_cls": "a lesson's tc_programs go beside its XDP program (advanced01); by hand, "
    "attach it with tc (`tc qdisc add dev DEV clsact; tc filter add dev DEV "
    "ingress bpf da obj FILE.o sec SECTION`)",
    "sched_act": "attach it with tc",
    "tracepoint": "it runs on a kernel event, not on an interface: `xdp-tui trace FILE` "
    "attaches it (or `bpftool prog loadall FILE.o /sys/fs/bpf/NAME autoattach`)",
    "kprobe": "it runs on a kernel function, not on an interface: use a libbpf loader",
}


def _not_xdp_error(spec: ProgramSpec, xdp: list[ProgramSpec], where: str) -> XdpTuiError:
    other = _OTHER_TOOLS.get(spec.type, "use a loader for that program type")
    hint = f"XDP programs in this object: {_listing(xdp)}" if xdp else other
    return XdpTuiError(
        f"'{spec.name}' is a {spec.type} program (section {spec.section}), not XDP: "
        f"xdp-tui loads and attaches XDP programs only; {other}",
        location=where,
        hint=hint,
    )


def _check_is_object(path: Path) -> None:
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such object file"
        raise XdpTuiError(what, location=str(path))
    try:
        with path.open("rb") as handle:  # 4 bytes, not the whole file
            head = handle.read(len(ELF_MAGIC))
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise XdpTuiError(f"cannot read the object: {exc.strerror}", location=str(path)) from exc
    if size > OBJECT_MAX_BYTES:
        raise XdpTuiError(
            f"is {size} bytes; a BPF object is at most {OBJECT_MAX_BYTES >> 20} MiB here",
            location=str(path),
        )
    if head == b"":
        raise XdpTuiError(
            "the object file is empty",
            location=str(path),
            hint="rebuild it: `xdp-tui build FILE.c`",
        )
    if head != ELF_MAGIC:
        raise XdpTuiError(
            "not an ELF object file",
            location=str(path),
            hint="load a .c file (xdp-tui builds it) or a .o made by `clang -target bpf`",
        )


def _pin_mismatch(libbpf_log: str) -> str | None:
    """The pin path from libbpf's "couldn't reuse pinned map at '...'" message."""
    marker = "couldn't reuse pinned map at '"
    start = libbpf_log.find(marker)
    if start < 0:
        return None
    start += len(marker)
    return libbpf_log[start : libbpf_log.find("'", start)]


# BPF_MAP_TYPE_DEVMAP, CPUMAP, DEVMAP_HASH: the kernel sets flags on them that
# libbpf's pin-reuse check does not expect.
_KERNEL_FLAGGED_MAP_TYPES = frozenset({14, 16, 25})


def _shape(m: int) -> tuple[int, int, int, int, int]:
    kind = int(_map_type(m))
    flags = 0 if kind in _KERNEL_FLAGGED_MAP_TYPES else int(_map_flags(m))
    return kind, int(_map_key_size(m)), int(_map_value_size(m)), int(_map_max_entries(m)), flags


def _shape_change(m: int, pin: Path) -> str | None:
    """How the map pinned at PIN differs from map M (None: same shape, or no such pin)."""
    from xdp_tui.engine import bpfsys

    if not pin.exists():
        return None
    try:
        with bpfsys.obj_get(pin) as fd:
            info = bpfsys.map_info(int(fd))
    except XdpTuiError:
        return None  # not a map (or unreadable): libbpf reports it
    flags = 0 if info.type in _KERNEL_FLAGGED_MAP_TYPES else info.flags
    was = (info.type, info.key_size, info.value_size, info.max_entries, flags)
    now = _shape(m)
    if was == now:
        return None
    return f"was {_shape_words(was)}, now {_shape_words(now)}"


def _shape_words(shape: tuple[int, int, int, int, int]) -> str:
    from xdp_tui.engine.bpfsys import map_type_name

    kind, key, value, entries, flags = shape
    extra = f", flags {flags:#x}" if flags else ""
    return f"{map_type_name(kind)}, key {key} B, value {value} B, {entries} entries{extra}"


def _incompatible_pin_error(
    pin: str, pin_dir: Path | None, changed: str, *, foreign: bool = False, detail: str = ""
) -> XdpTuiError:
    name = Path(pin).name
    if foreign:
        return XdpTuiError(
            f"a map named {name} pinned at {pin} by another tool (not xdp-tui) has another "
            f"shape than this program's ({changed}); xdp-tui never removes pins it did not create",
            location=pin,
            hint=f"if it is yours and no longer needed, remove it (`rm {pin}`); or load with "
            "--no-pin (the program then gets maps of its own)",
            tui_hint=f"if it is yours and no longer needed, remove it from a shell (`rm {pin}`), "
            "then press b again",
            detail=detail,
        )
    return XdpTuiError(
        f"a map pinned at {pin} has a different shape than the map in this program "
        f"({changed}), so it cannot be reused",
        location=pin,
        hint=f"remove it (`rm {pin}`) and load again, or load with --no-pin",
        tui_hint=f"remove it from a shell (`rm {pin}`), then press b again",
        detail=detail,
    )
