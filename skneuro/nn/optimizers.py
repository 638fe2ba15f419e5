"""Optimizers: one fused kernel call per part of the flat parameter buffers per step
(where the backend packed them; else one per parameter array).

An optimizer keeps its state (velocities, moments) in arrays beside the
parameters, allocated on the first step, and exposes one method,
:meth:`Optimizer.step`.
"""

import math

import numpy as np


class Optimizer:
    """Base class.

    ``step(network, learning_rate, l2)`` updates every parameter of
    ``network`` from its gradient; ``l2`` is the L2 coefficient for this
    batch, applied to the parameters their layer lists in ``decay``.
    """

    n_slots = 0

    def __init__(self):
        self.state = None
        self.t = 0

    def _ensure_state(self, network):
        backend = network.backend
        flat = network.flat_parameters
        if flat is not None and self.__dict__.get("_flat_of") is not flat:
            # The slots as views of flat buffers shaped as the parameters'
            # (values kept), so that one call updates them all.
            self._flat_slots = [backend.zeros(flat.params.shape) for _ in range(self.n_slots)]
            views = [flat.views(slot, network) for slot in self._flat_slots]
            for k, slots in enumerate(self.state or ()):
                for j in range(self.n_slots):
                    # 1-D, the one signature of the copy kernel a fit compiles.
                    backend.dense.copy(views[j][k].reshape(-1), slots[j].reshape(-1))
            self.state = [[views[j][k] for j in range(self.n_slots)]
                          for k in range(len(flat.offsets))]
            self._flat_of = flat
        elif self.state is None:
            self.state = [
                [backend.zeros(layer.params[name].shape) for _ in range(self.n_slots)]
                for layer, name in network.parameters()
            ]

    def step(self, network, learning_rate, l2):
        """Apply one update to every parameter of ``network``."""
        self.begin_step(network)
        self.update_part(network, learning_rate, l2, 0, 1)

    def begin_step(self, network):
        """Count a step (and allocate the state on the first); then :meth:`update_part`."""
        self._ensure_state(network)
        self.t += 1

    def _groups(self, network, whole=True):
        """``(params, grads, slots, decay_stop)`` of the arrays one call each
        updates, the L2 penalty applying to their elements before
        ``decay_stop``: the flat buffers where the backend packed the
        parameters (see :mod:`skneuro.backends._flat`) if ``whole``, else each
        parameter."""
        flat = network.flat_parameters
        if whole and flat is not None and self.__dict__.get("_flat_of") is flat:
            yield flat.group(self._flat_slots)
            return
        for (layer, name), slots in zip(network.parameters(), self.state):
            param = layer.params[name]
            yield param, layer.grads[name], slots, param.size if name in layer.decay else 0

    def update_part(self, network, learning_rate, l2, part, n_parts, flat=True):
        """Update part ``part`` of ``n_parts`` fixed element ranges of every parameter.

        The updates are elementwise, so the parts can run in parallel threads
        (see :mod:`skneuro.backends.cpu.shards`) and give the result of one call.
        The parts are of the flat buffers where the parameters are packed and
        ``flat``, else of each parameter: a caller running them in threads
        makes each thread update the ranges whose gradients it summed.
        """
        backend = network.backend
        l2 = backend.scalar(l2)
        for param, grad, slots, decay_stop in self._groups(network, whole=flat):
            if param.ndim != 1:
                # One compiled signature of each update (1-D), not one per
                # rank: a fit compiles its update kernel once (~0.15 s cold).
                param, grad = param.reshape(-1), grad.reshape(-1)
                slots = [s.reshape(-1) for s in slots]
            if n_parts > 1:
                lo, hi = part * param.size // n_parts, (part + 1) * param.size // n_parts
                param, grad = param[lo:hi], grad[lo:hi]
                slots = [s[lo:hi] for s in slots]
                decay_stop = min(max(decay_stop - lo, 0), hi - lo)
            self._update(backend, param, grad, slots, learning_rate, l2, decay_stop)

    def bind(self, backend):
        """Move the state arrays to ``backend``."""
        if self.state is not None:
            self.state = [[backend.asarray(a) for a in slots] for slots in self.state]
        # Flat slots are made again on the next step, if the network is packed.
        self.__dict__.pop("_flat_slots", None)
        self.__dict__.pop("_flat_of", None)
        return self

    def __getstate__(self):
        # Device arrays become numpy arrays, so that a model trained on a GPU
        # unpickles on a machine without one; bind() moves them back.
        state = self.__dict__.copy()
        state.pop("_flat_slots", None)  # made again from the per-parameter views
        state.pop("_flat_of", None)
        if self.state is not None:
            state["state"] = [[np.asarray(a) if isinstance(a, np.ndarray) else a.copy_to_host()
                               for a in slots] for slots in self.state]
        return state


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and Nesterov's momentum.

    Parameters
    ----------
    momentum : float, default=0.9
    nesterov : bool, default=True
    """

    n_slots = 1

    def __init__(self, momentum=0.9, nesterov=True):
        super().__init__()
        self.momentum = momentum
        self.nesterov = nesterov

    def _update(self, backend, param, grad, slots, lr, l2, decay_stop):
        backend.optim.sgd_update(param, grad, slots[0], backend.scalar(lr),
                                 backend.scalar(self.momentum), bool(self.nesterov), l2,
                                 decay_stop)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2014).

    Parameters
    ----------
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
    """

    n_slots = 2

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__()
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _update(self, backend, param, grad, slots, lr, l2, decay_stop):
        # The bias correction depends on the step count only: folded into the
        # learning rate once per array rather than once per element.
        lr_t = lr * math.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        s = backend.scalar
        backend.optim.adam_update(param, grad, slots[0], slots[1], s(lr_t),
                                  s(self.beta_1), s(self.beta_2), s(self.epsilon), l2,
                                  decay_stop)


class RMSprop(Optimizer):
    """RMSprop (Hinton 2012): divide by a running RMS of the gradient.

    Parameters
    ----------
    rho : float, default=0.9
        Decay rate of the running mean of squared gradients.
    epsilon : float, default=1e-8
    """

    n_slots = 1

    def __init__(self, rho=0.9, epsilon=1e-8):
        super().__init__()
        self.rho = rho
        self.epsilon = epsilon

    def _update(self, backend, param, grad, slots, lr, l2, decay_stop):
        s = backend.scalar
        backend.optim.rmsprop_update(param, grad, slots[0], s(lr), s(self.rho),
                                     s(self.epsilon), l2, decay_stop)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): divide by the root of summed squared gradients.

    Parameters
    ----------
    epsilon : float, default=1e-8
    """

    n_slots = 1

    def __init__(self, epsilon=1e-8):
        super().__init__()
        self.epsilon = epsilon

    def _update(self, backend, param, grad, slots, lr, l2, decay_stop):
        s = backend.scalar
        backend.optim.adagrad_update(param, grad, slots[0], s(lr), s(self.epsilon), l2,
                                      decay_stop)


def make_optimizer(solver, momentum=0.9, nesterovs_momentum=True, beta_1=0.9,
                   beta_2=0.999, epsilon=1e-8):
    """Build the optimizer named ``solver`` from scikit-learn-style parameters.

    RMSprop's decay rate is ``beta_2``: it is the same quantity as Adam's
    second-moment decay.
    """
    if solver == "sgd":
        return SGD(momentum, nesterovs_momentum)
    if solver == "adam":
        return Adam(beta_1, beta_2, epsilon)
    if solver == "rmsprop":
        return RMSprop(beta_2, epsilon)
    if solver == "adagrad":
        return Adagrad(epsilon)
    raise ValueError(f"Unknown solver {solver!r}.")
