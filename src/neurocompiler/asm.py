"""Assembler and linker: assembly text -> :class:`Program`.

Parses the language of ``shared/spec/ISA.md``. Each file is parsed on its own
(:func:`parse`), then :func:`link` places all files in one address space, resolves
labels across them and checks the program's length against the base. Every problem is
an :class:`~neurocompiler.errors.AsmError` that names file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import MachineConfig
from .errors import AsmError, InputError
from .isa import DST, IMM, LABEL, REG, Opcode, lookup
from .resources import PROGRAM_LIMIT, read_limited

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_REGISTER = re.compile(r"r([0-9]+)\Z")
_INT = re.compile(r"[+-]?[0-9]+\Z")
_MAX_DIGITS = 30  # longer literals are out of range for any machine; int() would refuse them
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Instruction:
    """One linked instruction. Unused fields are 0. ``target`` is an address."""

    op: str
    a: int = 0
    b: int = 0
    x: int = 0
    k: int = 0
    target: int = 0
    loc: SourceLoc = SourceLoc("<none>", 0, 0)
    text: str = ""


@dataclass(frozen=True)
class Program:
    """A linked program: instructions at addresses 0..len-1, labels -> addresses."""

    instructions: tuple[Instruction, ...]
    labels: dict[str, int]
    config: MachineConfig
    entry: int = 0

    def __len__(self) -> int:
        return len(self.instructions)

    def address_of(self, label: str) -> int:
        if label not in self.labels:
            known = ", ".join(sorted(self.labels)) or "none"
            raise InputError(f"unknown entry label '{label}' (labels: {known})")
        return self.labels[label]

    def with_entry(self, label: str | None) -> "Program":
        if label is None:
            return self
        return Program(self.instructions, self.labels, self.config, self.address_of(label))


@dataclass
class _Unlinked:
    op: Opcode
    fields: dict[str, int]
    label_ref: tuple[str, SourceLoc] | None
    loc: SourceLoc
    text: str


@dataclass
class ParsedFile:
    """One file's instructions, with label references not yet resolved."""

    name: str
    items: list[_Unlinked] = field(default_factory=list)
    labels: list[tuple[str, int, SourceLoc]] = field(default_factory=list)  # (name, local index, loc)


def _int(tok: str) -> int:
    """A decimal literal; absurdly long ones become a huge value (out of range)."""
    digits = tok.lstrip("+-")
    if len(digits.lstrip("0")) > _MAX_DIGITS:
        return -(10 ** _MAX_DIGITS) if tok.startswith("-") else 10 ** _MAX_DIGITS
    return int(tok)


def _show(val: int) -> str:
    return str(val) if abs(val) < 10 ** _MAX_DIGITS else "(too many digits)"


def _operand(kind: str, tok: str, loc: SourceLoc, cfg: MachineConfig) -> int | str:
    if kind in (REG, DST):
        m = _REGISTER.match(tok)
        if not m:
            raise AsmError(loc.file, loc.line, loc.col, f"expected a register, got '{tok}'")
        idx = _int(m.group(1))
        if idx >= cfg.registers:
            raise AsmError(loc.file, loc.line, loc.col,
                           f"register {tok} out of range (r0..r{cfg.registers - 1})")
        return idx
    if kind == IMM:
        if not _INT.match(tok):
            raise AsmError(loc.file, loc.line, loc.col, f"expected an integer literal, got '{tok}'")
        val = _int(tok)
        if not 0 <= val < cfg.base:
            raise AsmError(loc.file, loc.line, loc.col,
                           f"literal {_show(val)} out of range 0..{cfg.base - 1}")
        return val
    # LABEL: an identifier, or (extension) a literal address.
    if _INT.match(tok):
        val = _int(tok)
        if not 0 <= val < cfg.base:
            raise AsmError(loc.file, loc.line, loc.col,
                           f"address {_show(val)} out of range 0..{cfg.base - 1}")
        return val
    if not _IDENT.match(tok):
        raise AsmError(loc.file, loc.line, loc.col, f"expected a label, got '{tok}'")
    return tok


def _parse_instruction(tokens: list[tuple[str, int]], name: str, lineno: int,
                       text: str, cfg: MachineConfig) -> _Unlinked:
    (head, col), rest = tokens[0], tokens[1:]
    loc = SourceLoc(name, lineno, col)
    if _INT.match(head):  # the paper's shorthand `K x` for `const K x`
        op = lookup("const")
        rest = tokens
    else:
        op = lookup(head)
        if op is None:
            hint = " (opcodes are lower case)" if lookup(head.lower()) else ""
            raise AsmError(name, lineno, col, f"unknown opcode '{head}'{hint}")
    assert op is not None
    form = next((f for f in op.forms if len(f) == len(rest)), None)
    if form is None:
        counts = " or ".join(str(len(f)) for f in op.forms)
        raise AsmError(name, lineno, col,
                       f"wrong operand count for '{head if op.name != 'const' else op.name}': "
                       f"expected {counts} "
                       f"({op.syntax()}), got {len(rest)}")
    fields: dict[str, int] = {}
    label_ref = None
    for (kind, fld), (tok, tcol) in zip(form, rest):
        val = _operand(kind, tok, SourceLoc(name, lineno, tcol), cfg)
        if isinstance(val, str):
            label_ref = (val, SourceLoc(name, lineno, tcol))
        else:
            fields[fld] = val
    for fld, src in op.defaults:
        fields.setdefault(fld, fields[src])
    return _Unlinked(op, fields, label_ref, loc, text.strip())


def parse(text: str, name: str = "<string>", config: MachineConfig | None = None) -> ParsedFile:
    """Parse one file's text. Label references stay unresolved until :func:`link`."""
    cfg = config or MachineConfig()
    out = ParsedFile(name)
    for lineno, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        code = raw.split("#", 1)[0]
        tokens = [(m.group(0), m.start() + 1) for m in _TOKEN.finditer(code)]
        while tokens and tokens[0][0].endswith(":"):
            tok, col = tokens.pop(0)
            label = tok[:-1]
            if not _IDENT.match(label):
                raise AsmError(name, lineno, col, f"invalid label name '{label}'")
            out.labels.append((label, len(out.items), SourceLoc(name, lineno, col)))
        if tokens:
            out.items.append(_parse_instruction(tokens, name, lineno, code, cfg))
    return out


def link(files: list[ParsedFile], config: MachineConfig | None = None) -> Program:
    """Place ``files`` in one address space, in order, and resolve every label."""
    cfg = config or MachineConfig()
    labels: dict[str, int] = {}
    where: dict[str, SourceLoc] = {}
    offset = 0
    for f in files:
        for label, index, loc in f.labels:
            if label in labels:
                raise AsmError(loc.file, loc.line, loc.col,
                               f"duplicate label '{label}' (first defined at {where[label]})")
            labels[label], where[label] = offset + index, loc
        offset += len(f.items)
    instructions = []
    for f in files:
        for item in f.items:
            if len(instructions) == cfg.base:
                raise AsmError(item.loc.file, item.loc.line, item.loc.col,
                               f"program longer than base: {offset} instructions, "
                               f"at most {cfg.base}")
            fields = dict(item.fields)
            if item.label_ref is not None:
                ref, loc = item.label_ref
                if ref not in labels:
                    hint = " (expected a label here, not a register)" if _REGISTER.match(ref) else ""
                    raise AsmError(loc.file, loc.line, loc.col, f"undefined label '{ref}'{hint}")
                fields["target"] = labels[ref]
            instructions.append(Instruction(item.op.name, loc=item.loc, text=item.text, **fields))
    return Program(tuple(instructions), labels, cfg)


def assemble(sources: str | list[tuple[str, str]], config: MachineConfig | None = None,
             entry: str | None = None) -> Program:
    """Assemble and link. ``sources`` is program text, or a list of ``(name, text)``."""
    if isinstance(sources, str):
        sources = [("<string>", sources)]
    cfg = config or MachineConfig()
    return link([parse(text, name, cfg) for name, text in sources], cfg).with_entry(entry)


def assemble_files(paths: list[str | Path], config: MachineConfig | None = None,
                   entry: str | None = None) -> Program:
    """Read, assemble and link ``.asm`` files; an unreadable file is an InputError."""
    sources = []
    for p in paths:
        try:
            data = read_limited(p, PROGRAM_LIMIT, "a program file")
            text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text
            sources.append((str(p), text))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InputError(f"{p}: cannot read file: {reason}") from None
    return assemble(sources, config, entry)
