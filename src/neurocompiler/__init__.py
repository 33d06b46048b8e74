"""neurocompiler: a differentiable register machine and its neural compiler."""
