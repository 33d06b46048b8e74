"""Question/answer datasets as JSON Lines: one object per line,
``{"question": str, "answer": int | str, "task"?: str, "function"?: str}``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from ..files import file_mode
from ..resources import JSONL_LIMIT, read_limited
from .example import Example


def _check(obj: object) -> str | None:
    """Why ``obj`` is not a valid record, or None."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {_kind(obj)}"
    for key in ("question", "answer"):
        if key not in obj:
            return f'missing "{key}"'
    question, answer = obj["question"], obj["answer"]
    if not isinstance(question, str) or not question.strip():
        return f'"question" must be a non-empty string, got {_kind(question)}'
    if isinstance(answer, bool) or not isinstance(answer, (int, str)):
        return f'"answer" must be an integer or a string, got {_kind(answer)}'
    if isinstance(answer, int) and answer < 0:
        return f'"answer" must not be negative, got {answer}'
    for key in ("task", "function"):
        if key in obj and not isinstance(obj[key], str):
            return f'"{key}" must be a string, got {_kind(obj[key])}'
    return None


def _kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string" if value else "empty string",
             bool: "boolean", type(None): "null", float: "number"}
    return names.get(type(value), type(value).__name__)


def load_jsonl(path: str | os.PathLike[str]) -> list[Example]:
    """The examples in ``path``. Blank lines are skipped; keys other than question,
    answer, task and function are ignored; a missing task reads as ``"jsonl"``. Any bad
    line raises ``InputError("FILE:LINE: why")``; so does a file with no examples."""
    name = os.fspath(path)
    try:
        data = read_limited(path, JSONL_LIMIT, "a JSONL file")
    except OSError as e:
        raise InputError(f"{name}: cannot read file: {e.strerror or e}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{name}:{number}: not valid UTF-8") from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{name}:{number}: invalid JSON: {e.msg} (column {e.colno})") from None
        problem = _check(obj)
        if problem:
            raise InputError(f"{name}:{number}: {problem}")
        out.append(Example(obj["question"], obj["answer"], obj.get("task", "jsonl"),
                           obj.get("function", ""), source=f"{name}:{number}"))
    if not out:
        raise InputError(f"{name}: no examples (the file is empty)")
    return out


def save_jsonl(path: str | os.PathLike[str], examples: Iterable[Example]) -> None:
    """Write ``examples`` to ``path``, one object per line with all four fields,
    atomically: a temporary file in the same folder replaces ``path`` at the end.
    An example :func:`load_jsonl` would reject raises ``InputError`` before writing."""
    lines = []
    for i, ex in enumerate(examples):
        record = {"question": ex.question, "answer": ex.answer, "task": ex.task,
                  "function": ex.function}
        problem = _check(record)
        if problem:
            raise InputError(f"example {i}: {problem}")
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    target = Path(path)
    try:
        mode = file_mode(target)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"{os.fspath(path)}: cannot write file: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise InputError(f"{os.fspath(path)}: cannot write file: {e.strerror or e}") from None
        raise
