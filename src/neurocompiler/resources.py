"""The memory guard: how much memory a command may use, and a check before it allocates.

* :func:`available_bytes`: memory this process can still get (``MemAvailable``, bounded
  by a cgroup limit when there is one).
* :func:`budget`: the memory budget, from ``--memory-budget SIZE`` (:func:`set_flag`),
  else ``NEUROCOMPILER_MEMORY_BUDGET``, else half of the available memory (plus what
  this process holds already: the estimates count the whole process).
* :class:`Estimate`: what a command will need, in named parts (bytes), from
  :mod:`neurocompiler.footprint`; :func:`check` refuses one over the budget with a
  one-line :class:`~neurocompiler.errors.MemoryBudgetError`.
* :class:`TraceGuard`: the same check for something that grows step by step (a trace),
  made as it grows, so a short run is never refused for a large ``--max-steps``.

Sizes are written like ``512M``, ``4G``, ``2.5GB``, ``1.5GiB`` or plain bytes; every unit
is a power of 1024 (``K``, ``KB`` and ``KiB`` alike).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import InputError, MemoryBudgetError

ENV = "NEUROCOMPILER_MEMORY_BUDGET"
FLAG = "--memory-budget"
_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kmgt]?)(i?b)?\s*\Z", re.IGNORECASE)
_UNLIMITED = 1 << 60  # cgroup files write "max" or a huge number for no limit


# ---------------------------------------------------------------- sizes

def parse_size(text: str) -> int:
    """``"512M"`` -> 536870912. Raises ``ValueError`` naming the text when it is not a size."""
    m = _SIZE.match(text)
    if not m or (m.group(3) and m.group(3).lower() == "ib" and not m.group(2)):
        raise ValueError(f"'{text}' is not a size (e.g. 512M, 4G, 2.5GB or a number of bytes)")
    value = float(m.group(1)) * 1024 ** _UNITS[m.group(2).lower()]
    if value < 1:
        raise ValueError(f"'{text}' is not a positive size")
    return int(value)


def format_size(nbytes: float) -> str:
    """A byte count for people: ``11.6 GiB``, ``340 MiB``, ``12 KiB``, ``900 B``."""
    for unit, power in (("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)):
        scaled = nbytes / 1024 ** power
        if scaled >= 1:
            return f"{scaled:.1f} {unit}" if scaled < 100 else f"{scaled:.0f} {unit}"
    return f"{int(nbytes)} B"


# ---------------------------------------------------------------- input files

PROGRAM_LIMIT = 16 << 20  # bytes of one assembly file
JSONL_LIMIT = 2 << 30  # bytes of one JSONL data file


def read_limited(path: str | os.PathLike, limit: int, kind: str) -> bytes:
    """The bytes of ``path``, refused with a one-line ``InputError`` (the file, its size,
    the limit) when it holds more than ``limit``: by its size when it has one, else
    (a pipe, /dev/zero) by reading at most ``limit + 1`` bytes. ``OSError`` propagates."""
    def too_big(size: str) -> InputError:
        return InputError(f"{os.fspath(path)}: {size}, over the {format_size(limit)} limit for {kind} "
                          f"(is it the right file?)")

    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        if st.st_size > limit:
            raise too_big(format_size(st.st_size))
        if stat.S_ISREG(st.st_mode):
            data = fh.read(limit + 1)  # it may have grown since
            if len(data) > limit:
                raise too_big(f"more than {format_size(limit)}")
            return data
        chunks, total = [], 0
        while chunk := fh.read(min(1 << 20, limit + 1 - total) or 1):
            total += len(chunk)
            if total > limit:
                raise too_big(f"more than {format_size(limit)}")
            chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- what is available

def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return _UNLIMITED
    try:
        return int(text)
    except ValueError:
        return None


def _cgroup_dirs() -> list[tuple[str, Path]]:
    """(version, folder) of this process's memory cgroup, then the hierarchy roots."""
    root = Path("/sys/fs/cgroup")
    out: list[tuple[str, Path]] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            out.append(("v2", root / parts[2].lstrip("/")))
        elif "memory" in parts[1].split(","):
            out.append(("v1", root / "memory" / parts[2].lstrip("/")))
    return out + [("v2", root), ("v1", root / "memory")]


def cgroup_free_bytes() -> int | None:
    """Limit minus usage of the nearest memory cgroup that sets a limit, or None."""
    for version, folder in _cgroup_dirs():
        if version == "v2":
            limit, used = _read_int(folder / "memory.max"), _read_int(folder / "memory.current")
        else:
            limit, used = (_read_int(folder / "memory.limit_in_bytes"),
                           _read_int(folder / "memory.usage_in_bytes"))
        if limit is not None and limit < _UNLIMITED:
            return max(0, limit - (used or 0))
    return None


def proc_kb(field: str, path: str = "/proc/self/status") -> int | None:
    """A ``kB`` field of a /proc file (``VmRSS``, ``VmHWM``; ``MemAvailable`` of
    /proc/meminfo) in bytes, or None off Linux."""
    try:
        m = re.search(rf"^{field}:\s+(\d+) kB", Path(path).read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1)) * 1024 if m else None


def _meminfo_available() -> int | None:
    return proc_kb("MemAvailable", "/proc/meminfo")


def _portable_available() -> int | None:
    """Free physical memory where /proc is missing (macOS, BSD): pages free x page size."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        pass
    try:
        import psutil  # type: ignore[import-not-found]

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil is optional
        return None


def available_bytes() -> int:
    """Memory this process can still allocate: ``MemAvailable``, bounded by the cgroup
    limit minus its usage, with a portable fallback (8 GiB when nothing can be read)."""
    values = [v for v in (_meminfo_available(), cgroup_free_bytes()) if v is not None]
    if not values:
        portable = _portable_available()
        values = [portable] if portable else [8 << 30]
    return min(values)


# ---------------------------------------------------------------- the budget

@dataclass(frozen=True)
class Budget:
    """A number of bytes and where it came from (``source``: how to describe it)."""

    bytes: int
    source: str  # "default" | "flag" | "env"
    text: str = ""  # the size as written, for flag and env

    def describe(self) -> str:
        """``half of available memory, 11.6 GiB`` / ``--memory-budget 2G``."""
        if self.source == "flag":
            return f"{FLAG} {self.text}"
        if self.source == "env":
            return f"{ENV}={self.text}"
        return f"half of available memory, and what this process holds: {format_size(self.bytes)}"

    def short(self) -> str:
        """Where it came from, for the error line (its size is printed beside it)."""
        return {"flag": FLAG + " " + self.text, "env": f"{ENV}={self.text}"}.get(
            self.source, "half of available memory")


def resident_bytes() -> int:
    """This process's resident set now (Linux ``VmRSS``; 0 where unknown). It is part
    of every estimate, and no longer part of the available memory."""
    return proc_kb("VmRSS") or 0


_flag: str | None = None  # --memory-budget as given on the command line, if any


def set_flag(text: str | None) -> None:
    """Record ``--memory-budget`` (already validated by :func:`parse_size`); None clears it."""
    global _flag
    _flag = text


def budget(environ: Mapping[str, str] | None = None) -> Budget:
    """The budget in force: the flag, else the environment variable, else half of
    :func:`available_bytes` (plus what this process already holds, which the estimates
    count and the available memory no longer does). A bad environment value is an
    ``InputError``."""
    if _flag is not None:
        return Budget(parse_size(_flag), "flag", _flag)
    text = (os.environ if environ is None else environ).get(ENV, "").strip()
    if text:
        try:
            return Budget(parse_size(text), "env", text)
        except ValueError as exc:
            raise InputError(f"{ENV}: {exc}") from None
    return Budget(available_bytes() // 2 + resident_bytes(), "default")


# ---------------------------------------------------------------- estimates

@dataclass
class Estimate:
    """Bytes a command needs, by named part (``{"ALU tables": ..., ...}``)."""

    parts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def __add__(self, other: "Estimate") -> "Estimate":
        merged = dict(self.parts)
        for name, nbytes in other.parts.items():
            merged[name] = merged.get(name, 0) + nbytes
        return Estimate(merged)

    def render(self, parts: int = 3) -> str:
        """``34.4 GiB (ALU tables 34.4 GiB, machine state 1.2 GiB)``: the total and its
        largest ``parts``."""
        big = sorted(((v, k) for k, v in self.parts.items() if v > 0), reverse=True)[:parts]
        inner = ", ".join(f"{k} {format_size(v)}" for v, k in big)
        return f"{format_size(self.total)} ({inner})" if inner else format_size(self.total)


def over_budget(estimate: Estimate, what: str, fix: str, limit: Budget | None = None,
                more_than: bool = False) -> MemoryBudgetError:
    """The one-line error for ``estimate`` over ``limit``."""
    limit = limit or budget()
    needs = "needs more than about" if more_than else "needs about"
    return MemoryBudgetError(f"{what}: {needs} {estimate.render()}, over the memory budget of "
                             f"{format_size(limit.bytes)} ({limit.short()}); {fix}")


def check(estimate: Estimate, limit: Budget | None, what: str, fix: str) -> None:
    """Raise :class:`MemoryBudgetError` (one line: the estimate, the budget, ``fix``)
    when ``estimate`` exceeds ``limit`` (None: :func:`budget`)."""
    limit = limit or budget()
    if estimate.total > limit.bytes:
        raise over_budget(estimate, what, fix, limit)


class TraceGuard:
    """Checks a growing record as it grows: ``guard(steps)`` raises once ``fixed`` plus
    ``steps`` times ``per_step`` bytes would exceed the budget. One comparison a call."""

    def __init__(self, fixed: Estimate, per_step: int, name: str, what: str, fix: str,
                 limit: Budget | None = None) -> None:
        self.fixed, self.per_step, self.name = fixed, max(1, per_step), name
        self.what, self.fix, self.budget = what, fix, limit or budget()
        check(fixed, self.budget, what, fix)
        self.limit = (self.budget.bytes - fixed.total) // self.per_step

    def __call__(self, steps: int) -> None:
        if steps > self.limit:
            grown = self.fixed + Estimate({f"{self.name} ({steps:,} steps)": steps * self.per_step})
            raise over_budget(grown, self.what, self.fix, self.budget, more_than=True)


__all__ = ["Budget", "ENV", "Estimate", "FLAG", "JSONL_LIMIT", "PROGRAM_LIMIT", "TraceGuard", "available_bytes",
           "budget", "check", "format_size", "over_budget", "parse_size", "read_limited", "resident_bytes",
           "set_flag"]
