"""The engine and its backends keep to their contract (see :mod:`skneuro.backends.contract`)."""

import ast
import pathlib
import re

import numpy as np
import pytest

from skneuro.backends import CPUBackend, CUDABackend
from skneuro.backends.contract import OPERATIONS, STRATEGIES, missing_operations
from skneuro.backends.cpu import PRIVATE_KERNELS
from skneuro.nn import Layer, Network

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skneuro"
TESTS = pathlib.Path(__file__).resolve().parent


@pytest.mark.parametrize("make", [CPUBackend, CUDABackend], ids=["cpu", "cuda"])
def test_every_backend_provides_every_declared_operation(make):
    # CUDABackend runs on numba's simulator here (tests/conftest.py).
    assert missing_operations(make(np.float32)) == []


def test_the_check_sees_a_missing_operation():
    backend = CPUBackend()
    backend.pool = object()  # a module without the pooling kernels
    del backend.__dict__["dense"]
    missing = missing_operations(backend)
    assert "pool.max_pool_forward" in missing and "dense.matmul" in missing


def test_the_cuda_backend_does_not_imitate_the_cpu_strategies():
    gpu = CUDABackend(np.float32)
    assert not [name for name in PRIVATE_KERNELS if hasattr(gpu, name)]
    for name in PRIVATE_KERNELS:
        assert not (PACKAGE / "kernels" / "cuda" / f"{name}.py").exists()


def test_every_kernel_operation_has_a_parity_test():
    """Each declared kernel operation is called on the CUDA backend in a test that
    compares it with the CPU's (tests/test_cuda.py, by attribute or by name)."""
    source = "".join(p.read_text() for p in TESTS.glob("test_cuda*.py"))
    uncovered = [f"{module}.{fn}" for module, functions in OPERATIONS.items()
                 for fn in functions
                 if not re.search(rf"gpu\w*\.{module}\.{fn}\b|[\"']{fn}[\"']", source)]
    assert uncovered == []


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_only_the_backends_import_a_kernel_family():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        floor = path.relative_to(PACKAGE).parts[0]
        if floor in ("kernels", "backends"):
            continue
        for name in _imports(path):
            if name.startswith(("skneuro.kernels.cpu", "skneuro.kernels.cuda")):
                offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []


def test_the_kernel_families_do_not_import_each_other():
    offenders = []
    for family, other in (("cpu", "cuda"), ("cuda", "cpu")):
        for path in (PACKAGE / "kernels" / family).glob("*.py"):
            offenders += [f"{path.name}: {name}" for name in _imports(path)
                          if name.startswith(f"skneuro.kernels.{other}")]
    assert offenders == []


def test_layers_and_network_carry_no_device_layout():
    words = ("lanes", "winograd", "chain", "shard_count", "small_rows")
    for cls in (Layer, Network):
        found = [name for name in dir(cls) if any(w in name.lower() for w in words)]
        assert found == [], cls


def test_strategies_are_declared_once():
    assert len(set(STRATEGIES)) == len(STRATEGIES)
    for module, functions in OPERATIONS.items():
        assert len(set(functions)) == len(functions), module


def test_the_engine_and_the_estimators_name_no_backend_strategy():
    """Above the backends, code asks ``backend.<strategy>``: it imports neither
    backend's modules (``skneuro.nn.backend`` only re-exports, for old imports)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        where = path.relative_to(PACKAGE)
        if where.parts[0] in ("kernels", "backends") or where == pathlib.Path("nn/backend.py"):
            continue
        offenders += [f"{where}: {name}" for name in _imports(path)
                      if name.startswith(("skneuro.backends.cpu", "skneuro.backends.cuda"))]
    assert offenders == []


def test_shards_are_the_cpus():
    assert CPUBackend().shards(2) == 2
    assert CUDABackend(np.float32).shards(2) == 1
