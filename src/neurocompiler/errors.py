"""The project's error types. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations


class NeurocompilerError(Exception):
    """Base class for errors caused by bad input (never by a bug)."""


class AsmError(NeurocompilerError):
    """A bad program: reported as ``file:line:col: message``."""

    def __init__(self, file: str, line: int, col: int, msg: str) -> None:
        self.file, self.line, self.col, self.msg = file, line, col, msg
        super().__init__(f"{file}:{line}:{col}: {msg}")


class InputError(NeurocompilerError, ValueError):
    """Bad input other than program text: a value out of range, an unknown register,
    an unreadable file, a malformed checkpoint."""


class NotHaltedError(NeurocompilerError):
    """A run that did not halt within its step budget."""


class MemoryBudgetError(InputError):
    """A command whose estimated memory exceeds the memory budget (``resources.check``),
    refused before it allocates."""
