"""A stand-in for a machine with several GPUs, for the placement tests of the workers.

No test machine has several GPUs. Numba's CUDA simulator has one device and
ignores ``CUDA_VISIBLE_DEVICES``; :func:`stand_in_gpus` replaces numba.cuda's
device functions by ones that number a machine of :data:`MACHINE_GPUS` as the
CUDA driver does: a process sees the GPUs ``CUDA_VISIBLE_DEVICES`` lists (read
when the stand-in starts, as the driver reads it at initialization), in that
order, and device 0 is current in every thread unless ``select_device`` chose
another. Kernels and arrays stay the simulator's; each array skneuro puts on
the "GPU" (``to_device``, ``device_array``) is recorded with the UUID of the
device current at that moment, so a test can tell where a fit ran.
"""

import contextlib
import os
import threading

#: The stand-in machine's GPUs by physical index, as ``nvidia-smi -L`` names them.
MACHINE_GPUS = ("GPU-00000000-aaaa-0000-0000-000000000000",
                "GPU-11111111-bbbb-1111-1111-111111111111")


class _Device:
    def __init__(self, number, uuid):
        self.id = number
        self.uuid = uuid
        self.compute_capability = (8, 0)


class _Context:
    def __init__(self, device):
        self.device = device
        self.id = device.id

    def get_memory_info(self):
        return (2**34, 2**34)  # free, total: room for anything a test fits


class _Driver:
    def __init__(self):
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        physical = range(len(MACHINE_GPUS)) if visible is None else \
            [int(part) for part in visible.split(",") if part.strip()]
        self.contexts = [_Context(_Device(number, MACHINE_GPUS[index]))
                         for number, index in enumerate(physical)]
        self.local = threading.local()
        self.allocations = []  # the UUID of the current device at each allocation

    def current_context(self):
        if not self.contexts:
            raise RuntimeError("CUDA_ERROR_NO_DEVICE (stand-in: CUDA_VISIBLE_DEVICES lists none)")
        return self.contexts[getattr(self.local, "number", 0)]

    def get_current_device(self):
        return self.current_context().device

    def select_device(self, number):
        self.contexts[number]  # noqa: B018 - IndexError for a device this process cannot see
        self.local.number = number
        return self.contexts[number].device

    def recording(self, allocate):
        def allocate_here(*args, **kwargs):
            self.allocations.append(self.get_current_device().uuid)
            return allocate(*args, **kwargs)

        return allocate_here


_PATCHED = ("current_context", "get_current_device", "select_device", "to_device",
            "device_array")


@contextlib.contextmanager
def stand_in_gpus():
    """Within the block, numba.cuda numbers the GPUs of :data:`MACHINE_GPUS`; yields the driver.

    Needs Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), whose arrays and
    kernels run on the host.
    """
    from numba import config, cuda

    assert config.ENABLE_CUDASIM, "the stand-in replaces the simulator's single device"
    driver = _Driver()
    saved = {name: getattr(cuda, name) for name in _PATCHED}
    replacements = {
        "current_context": driver.current_context,
        "get_current_device": driver.get_current_device,
        "select_device": driver.select_device,
        "to_device": driver.recording(saved["to_device"]),
        "device_array": driver.recording(saved["device_array"]),
    }
    for name, function in replacements.items():
        setattr(cuda, name, function)
    try:
        yield driver
    finally:
        for name, function in saved.items():
            setattr(cuda, name, function)


def fit_on_cuda_and_report_placement():
    """In a worker: fit on ``device="cuda"`` under the stand-in; say where it ran.

    Returns ``CUDA_VISIBLE_DEVICES`` before and after the fit, skneuro's
    :func:`~skneuro.backends.devices.current_cuda_device` before and after it,
    the UUIDs of the devices the fit allocated on, and the device a
    ``select_device(1)`` would have given (to show the stand-in tells GPUs apart).
    """
    import numpy as np

    from skneuro import MLPClassifier
    from skneuro.backends.devices import current_cuda_device

    env_before = os.environ.get("CUDA_VISIBLE_DEVICES")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    with stand_in_gpus() as driver:
        before = current_cuda_device()
        MLPClassifier((4,), max_iter=1, batch_size=24, device="cuda", random_state=0).fit(X, y)
        after = current_cuda_device()
        allocated_on = sorted(set(driver.allocations))
        n_allocations = len(driver.allocations)
        other = driver.select_device(1).uuid if len(driver.contexts) > 1 else None
    return {"env_before": env_before, "env_after": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "before": before, "after": after, "allocated_on": allocated_on,
            "n_allocations": n_allocations, "device_1": other}
