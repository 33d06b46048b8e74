"""Machine parameters (``shared/spec/ISA.md``, "Machine parameters")."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError


@dataclass(frozen=True)
class MachineConfig:
    """``base`` n: values are 0..n-1 and arithmetic is mod n; ``registers``: r0..r(R-1);
    ``memory``: cells M[0..memory-1], defaulting to ``base``."""

    base: int = 128
    registers: int = 16
    memory: int | None = None

    def __post_init__(self) -> None:
        if self.base < 2:
            raise InputError(f"base must be at least 2, got {self.base}")
        if self.registers < 1:
            raise InputError(f"registers must be at least 1, got {self.registers}")
        if self.memory is None:
            object.__setattr__(self, "memory", self.base)
        if self.memory < 0:
            raise InputError(f"memory must be non-negative, got {self.memory}")

    @property
    def n(self) -> int:
        return self.base

    @property
    def m(self) -> int:
        assert self.memory is not None
        return self.memory
