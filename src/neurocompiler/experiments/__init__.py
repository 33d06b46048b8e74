"""Experiments: one module per paper table or figure. Each module has ``run(config)``,
which prints a table and writes its CSV and PNG under ``results/<name>/``, plus
``add_arguments(parser)`` and ``config_from_args(args)`` for the command line."""

from __future__ import annotations

import importlib
from types import ModuleType

EXPERIMENTS = {
    "fig3": "neurocompiler.experiments.fig3",
    "table1": "neurocompiler.experiments.table1",
    "selection": "neurocompiler.experiments.selection",
    "arith": "neurocompiler.experiments.arith",
    "sort": "neurocompiler.experiments.sort",
    "mixed": "neurocompiler.experiments.mixed",
    "baselines": "neurocompiler.experiments.baselines",
    "outside": "neurocompiler.experiments.outside",
}


def experiment_module(name: str) -> ModuleType:
    return importlib.import_module(EXPERIMENTS[name])
