"""The neural compiler: exact one-hot distributions per line, frozen vs adaptive,
and safetensors round trips."""

import pytest
import torch

from neurocompiler.asm import assemble
from neurocompiler.compiler import FIELD_NAMES, CompiledProgram, compile_program
from neurocompiler.config import MachineConfig
from neurocompiler.errors import InputError
from neurocompiler.isa import OP_INDEX
from neurocompiler.machine import Machine

SOURCE = """
start: 7 r1
    add r1 r2 r3
    jump r3 done
    write r3 r1
done: halt
"""


def test_compiled_lines_are_exact_one_hot_with_an_implicit_halt():
    cfg = MachineConfig(base=16, registers=4)
    compiled = compile_program(assemble(SOURCE, cfg))
    d = compiled.distributions()
    assert compiled.lines == 6
    assert d["op"].shape == (6, len(OP_INDEX)) and d["k"].shape == (6, 16)
    assert d["a"].shape == (6, 4) and d["target"].shape == (6, 6)
    for t in d.values():
        assert torch.equal(t.sum(-1), torch.ones(6)) and set(t.unique().tolist()) <= {0.0, 1.0}
    assert d["op"][0, OP_INDEX["const"]] == 1 and d["k"][0, 7] == 1 and d["x"][0, 1] == 1
    assert d["op"][1, OP_INDEX["add"]] == 1 and d["a"][1, 1] == 1 and d["b"][1, 2] == 1
    assert d["op"][2, OP_INDEX["jump"]] == 1 and d["target"][2, 4] == 1
    assert d["op"][3, OP_INDEX["write"]] == 1 and d["a"][3, 3] == 1 and d["b"][3, 1] == 1
    assert d["op"][5, OP_INDEX["halt"]] == 1  # row L: running past the end halts


def test_frozen_has_no_parameters_and_trainable_learns():
    program = assemble(SOURCE, MachineConfig(base=16, registers=4))
    assert list(compile_program(program).parameters()) == []
    adaptive = compile_program(program, trainable=True)
    assert {name for name, _ in adaptive.named_parameters()} == set(FIELD_NAMES)
    d = adaptive.distributions()
    assert d["op"].max(-1).values.min() > 0.999  # sharp enough to run exactly
    machine = Machine(adaptive)
    out = machine.run(machine.initial_state(registers={2: 3}), max_steps=20)
    out.state.R[0, 3, 10].log().neg().backward()
    assert adaptive.op.grad is not None and adaptive.op.grad.abs().sum() > 0


@pytest.mark.parametrize("trainable", [False, True])
def test_safetensors_round_trip(tmp_path, trainable):
    program = assemble(SOURCE, MachineConfig(base=16, registers=4, memory=8), entry="start")
    compiled = compile_program(program, trainable=trainable)
    if trainable:
        with torch.no_grad():
            compiled.k.add_(torch.randn_like(compiled.k))
    path = tmp_path / "prog.safetensors"
    compiled.save(path)
    loaded = CompiledProgram.load(path)
    assert loaded.trainable == trainable
    assert loaded.program == program
    for name in FIELD_NAMES:
        assert torch.equal(getattr(loaded, name), getattr(compiled, name))
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left nothing behind


def test_loading_garbage_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="cannot read compiled program"):
        CompiledProgram.load(bad)
    with pytest.raises(InputError, match="cannot read compiled program"):
        CompiledProgram.load(tmp_path / "missing.safetensors")


def test_loading_a_malformed_program_is_a_clear_error(tmp_path):
    from safetensors.torch import save_file

    compiled = compile_program(assemble(SOURCE, MachineConfig(base=16, registers=4)))
    tensors = {f: getattr(compiled, f).contiguous() for f in FIELD_NAMES}
    cases = {
        "no_config": {k: v for k, v in compiled.metadata().items() if k != "config"},
        "bad_json": {**compiled.metadata(), "labels": "{not json"},
        "bad_base": {**compiled.metadata(), "config": '{"base": 1, "registers": 4, "memory": 4}'},
    }
    for name, meta in cases.items():
        path = tmp_path / f"{name}.safetensors"
        save_file(tensors, str(path), metadata=meta)
        with pytest.raises(InputError, match="malformed compiled program"):
            CompiledProgram.load(path)
    path = tmp_path / "shape.safetensors"
    save_file({**tensors, "k": torch.zeros(1, 16)}, str(path), metadata=compiled.metadata())
    with pytest.raises(InputError, match="tensor 'k' has shape"):
        CompiledProgram.load(path)
