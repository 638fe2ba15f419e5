"""Compute kernels: plain functions over arrays.

``skneuro.kernels.cpu`` holds the Numba CPU kernels. Sibling backends use the
same module names, function names and argument order, so that a backend object
can hand a layer either one. Importing this package compiles nothing: kernels
are compiled (or loaded from Numba's cache) on first call.
"""
