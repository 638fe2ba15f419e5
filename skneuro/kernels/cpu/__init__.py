"""Numba CPU kernels.

Modules: ``activations``, ``dense``, ``losses``, ``optim``, ``dropout``,
``perceptron``. Every module has the same functions, with the same arguments,
in every sibling backend.
"""
