"""neurocompiler: a differentiable register machine, a neural compiler for its assembly
language, and (in later issues) a library of compiled programs for language models."""

from .asm import Program, assemble, assemble_files
from .compiler import CompiledProgram, compile_program
from .config import MachineConfig
from .errors import AsmError, InputError, NeurocompilerError, NotHaltedError
from .interpreter import RunResult, run
from .machine import Machine
from .state import Outcome, State

__version__ = "0.1.0"

__all__ = [
    "AsmError", "CompiledProgram", "InputError", "Machine", "MachineConfig", "NeurocompilerError",
    "NotHaltedError", "Outcome", "Program", "RunResult", "State", "assemble", "assemble_files",
    "compile_program", "run",
]
