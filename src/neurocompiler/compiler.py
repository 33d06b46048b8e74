"""The neural compiler: a linked :class:`~neurocompiler.asm.Program` -> a
:class:`CompiledProgram`, the machine's parameters, analytically (no training).

Each instruction line l becomes a set of distributions (Bunel et al. 2016):

* ``op``     (L+1, |OPCODES|): which opcode line l runs;
* ``a``, ``b`` (L+1, R): its source registers;
* ``x``      (L+1, R): its destination register;
* ``k``      (L+1, n): its constant;
* ``target`` (L+1, L+1): its jump target address.

Row L is an implicit ``halt``: running past the last instruction, or jumping to an
address outside the program, lands there. Frozen programs (the default) hold exact
one-hot buffers. ``trainable=True`` holds logits instead (``sharpness`` on the compiled
choice, 0 elsewhere), so the program is adaptive and can be trained, as in Bunel et al.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .asm import Instruction, Program, SourceLoc
from .config import MachineConfig
from .errors import InputError
from .files import atomic_write
from .isa import OP_INDEX, OPCODES

FIELD_NAMES = ("op", "a", "b", "x", "k", "target")


class CompiledProgram(nn.Module):
    """A program as per-line distributions; an ``nn.Module`` whose parameters (when
    ``trainable``) or buffers (when frozen) can be saved to safetensors."""

    def __init__(self, program: Program, trainable: bool = False, sharpness: float = 20.0) -> None:
        super().__init__()
        self.program = program
        self.config = program.config
        self.trainable = trainable
        self.sharpness = sharpness
        one_hot = self._one_hot_fields(program)
        for name, p in one_hot.items():
            if trainable:
                setattr(self, name, nn.Parameter(p * sharpness))
            else:
                self.register_buffer(name, p)

    @property
    def lines(self) -> int:
        """L + 1: the program's instructions plus the implicit halt."""
        return len(self.program) + 1

    @staticmethod
    def _one_hot_fields(program: Program) -> dict[str, torch.Tensor]:
        cfg, L = program.config, len(program)
        rows = list(program.instructions) + [Instruction("halt")]  # implicit halt at address L
        idx = {
            "op": [OP_INDEX[ins.op] for ins in rows],
            "a": [ins.a for ins in rows],
            "b": [ins.b for ins in rows],
            "x": [ins.x for ins in rows],
            "k": [ins.k for ins in rows],
            "target": [min(ins.target, L) for ins in rows],
        }
        width = {"op": len(OPCODES), "a": cfg.registers, "b": cfg.registers,
                 "x": cfg.registers, "k": cfg.base, "target": L + 1}
        return {f: F.one_hot(torch.tensor(idx[f]), width[f]).float() for f in FIELD_NAMES}

    def distributions(self) -> dict[str, torch.Tensor]:
        """Per-line probability distributions, ``{field: (L+1, width)}``."""
        if self.trainable:
            return {f: torch.softmax(getattr(self, f), -1) for f in FIELD_NAMES}
        return {f: getattr(self, f) for f in FIELD_NAMES}

    def widened(self, config: MachineConfig) -> "CompiledProgram":
        """The same program for a machine of a wider word (``config.base`` >= ours).

        Only the constant's width depends on the base: adaptive logits of the new
        values start at each line's lowest logit, so no new value becomes likelier."""
        if config.base < self.config.base or config.registers != self.config.registers:
            raise InputError(f"cannot widen a base-{self.config.base} program with "
                             f"{self.config.registers} registers to base {config.base} "
                             f"with {config.registers} registers")
        out = CompiledProgram(replace(self.program, config=config), self.trainable, self.sharpness)
        with torch.no_grad():
            for f in FIELD_NAMES:
                old, new = getattr(self, f), getattr(out, f)
                if f == "k" and self.trainable:
                    new.copy_(old.min(-1, keepdim=True).values.expand_as(new))
                new[..., :old.shape[-1]].copy_(old)
        return out.to(next(iter(self.state_dict().values())).device)

    def metadata(self) -> dict[str, str]:
        prog = self.program
        return {
            "format": "neurocompiler.CompiledProgram/1",
            "config": json.dumps(asdict(self.config)),
            "trainable": json.dumps(self.trainable),
            "sharpness": json.dumps(self.sharpness),
            "entry": json.dumps(prog.entry),
            "labels": json.dumps(prog.labels),
            "instructions": json.dumps([
                {**{k: getattr(ins, k) for k in ("op", "a", "b", "x", "k", "target", "text")},
                 "loc": [ins.loc.file, ins.loc.line, ins.loc.col]}
                for ins in prog.instructions]),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write parameters and the program listing to ``path`` (safetensors), atomically."""
        path = Path(path)
        tensors = {f: getattr(self, f).detach().contiguous().cpu() for f in FIELD_NAMES}
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=self.metadata()))

    @classmethod
    def _from_metadata(cls, meta: dict[str, str]) -> "CompiledProgram":
        cfg = MachineConfig(**json.loads(meta["config"]))
        instructions = tuple(
            Instruction(d["op"], d["a"], d["b"], d["x"], d["k"], d["target"],
                        SourceLoc(*d["loc"]), d["text"])
            for d in json.loads(meta["instructions"]))
        program = Program(instructions, json.loads(meta["labels"]), cfg, json.loads(meta["entry"]))
        return cls(program, trainable=json.loads(meta["trainable"]),
                   sharpness=json.loads(meta["sharpness"]))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CompiledProgram":
        """Read a program written by :meth:`save`."""
        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = fh.metadata() or {}
            tensors = load_file(str(path))
        except (OSError, SafetensorError) as exc:
            raise InputError(f"{path}: cannot read compiled program: {exc}") from None
        if meta.get("format") != "neurocompiler.CompiledProgram/1":
            raise InputError(f"{path}: not a neurocompiler compiled program")
        try:
            out = cls._from_metadata(meta)
            with torch.no_grad():
                for f in FIELD_NAMES:
                    if tensors[f].shape != getattr(out, f).shape:
                        raise ValueError(f"tensor '{f}' has shape {tuple(tensors[f].shape)}, "
                                         f"expected {tuple(getattr(out, f).shape)}")
                    getattr(out, f).copy_(tensors[f])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise InputError(f"{path}: malformed compiled program ({type(exc).__name__}: {exc})") from None
        return out


def compile_program(program: Program, trainable: bool = False, sharpness: float = 20.0) -> CompiledProgram:
    """Compile a linked program into the machine's parameters (no training)."""
    return CompiledProgram(program, trainable=trainable, sharpness=sharpness)
