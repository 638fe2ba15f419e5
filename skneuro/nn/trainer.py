"""The training loop: mini-batch epochs, validation, stopping, best weights.

``Trainer`` keeps everything that must survive from one call to the next
(epoch count, samples seen, curves, stopping counters, optimizer state), so
``partial_fit`` and ``warm_start`` simply call it again. The loop is split
into methods (``run`` -> ``run_epoch`` -> ``train_step``) so a subclass can
override one of them.

The batch loop allocates nothing: each batch's rows are gathered into
buffers reused from batch to batch, and every layer writes into its own
buffers.
"""

import contextlib
import math

import numpy as np

from skneuro.nn.callbacks import Callback, ProgressPrinter

#: Training has diverged when an epoch's mean training loss exceeds this many
#: times the reference loss, or when the loss or the weights are not finite.
#: The reference is the first epoch's mean loss (of the fit; for
#: ``partial_fit``, of the first call), or the loss of the very first batch
#: at the initial weights if that is smaller and the batch has at least
#: ``REFERENCE_BATCH_ROWS`` rows (so that an explosion within the first epoch
#: is caught too).
DIVERGENCE_FACTOR = 100.0
REFERENCE_BATCH_ROWS = 32


class DivergenceError(FloatingPointError, ValueError):
    """Training diverged: a non-finite loss or weights, or an exploding loss.

    The loss explodes when an epoch's mean training loss exceeds
    :data:`DIVERGENCE_FACTOR` (100) times the first epoch's. A
    ``FloatingPointError``, and a ``ValueError`` as scikit-learn's own errors
    for unusable settings, so code written for scikit-learn catches it.

    The trainer puts back the weights the network had when the epoch began;
    the estimators go further and leave themselves as they were before the
    call that diverged.
    """


class Trainer:
    """Mini-batch gradient training of a network.

    Parameters
    ----------
    network : Network
        Built and bound to a backend.
    loss : Loss
    optimizer : Optimizer
    schedule : Schedule
    batch_size : int
    max_iter : int
        Maximum number of epochs, counted over the trainer's whole life.
    rng : numpy.random.Generator
        Drives the shuffling.
    shuffle : bool, default=True
    alpha : float, default=0.0
        L2 penalty, as scikit-learn's MLP: ``0.5 * alpha * ||W||**2`` divided
        by the batch's total sample weight.
    tol : float or None, default=1e-4
        None: no stopping criterion (train every epoch asked for).
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Stop on the validation score (else on the training loss) and restore
        the weights of the best validation score.
    validation : tuple (X, y, weight) or None
    score : callable(network) -> float, optional
        Validation score, higher is better (accuracy, R^2).
    callbacks : list of Callback
    verbose : bool
    learning_rate_name : str
        Parameter named in the error raised when training diverges.
    n_shards : int, default=1
        Split each batch into this many shards run side by side by replicas
        of the network, where the backend runs shards (the CPU; see
        :mod:`skneuro.backends.cpu.shards`).
    batch_transform : callable, default=None
        ``batch_transform(xb, yb, wb, step) -> (xb, yb, wb)``, applied to
        every training batch after it is gathered, with ``step`` the count of
        batches trained so far: how a diffusion model draws each batch's
        noise levels and noise (targets made per batch, reproducibly from
        the step). Validation data are not transformed.
    resume : Trainer, optional
        A previous trainer of the same network, whose history this one
        continues: scikit-learn's warm start. The epoch, sample and step
        counts, the curves, the stopping record (best loss or validation
        score, their weights, epochs without improvement) go on; the
        optimizer, schedule, settings and validation data are this one's.

    Attributes
    ----------
    epochs_run : int
        Epochs trained by the last :meth:`run` or :meth:`partial_run` (an
        estimator's ``n_iter_``); ``epoch`` counts them over the whole history.
    interrupted : bool
        Whether Ctrl-C ended the last :meth:`run` inside its loop. The run then
        leaves a usable network (the best weights with early stopping; the
        epoch's first weights if the interrupted epoch made them non-finite),
        calls the callbacks' ``on_train_end``, and lets the
        ``KeyboardInterrupt`` go on.
    """

    #: What a resumed trainer takes over from the one before (see ``resume``).
    CONTINUED = ("epoch", "n_steps", "samples_seen", "loss_curve", "validation_loss_curve",
                 "validation_scores", "best_loss", "best_validation_score", "best_weights",
                 "no_improvement_count", "reference_loss", "_reference_name")

    #: Arrays kept from batch to batch on the network's device (not pickled,
    #: and dropped when a fit starts: the device may have changed).
    _DEVICE_BUFFERS = ("_batch_buffers", "_snapshot", "_norm_acc", "_step_loss")

    #: Class defaults, for trainers pickled before these existed.
    n_shards = 1
    batch_transform = None
    n_steps = 0
    epochs_run = 0
    reference_loss = None
    _reference_name = "the first epoch's"

    def __init__(self, network, loss, optimizer, schedule, *, batch_size, max_iter, rng,
                 shuffle=True, alpha=0.0, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation=None, score=None, callbacks=(),
                 verbose=False, learning_rate_name="learning_rate_init", n_shards=1,
                 batch_transform=None, resume=None):
        self.network = network
        self.loss = loss
        self.optimizer = optimizer
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.rng = rng
        self.shuffle = shuffle
        self.alpha = alpha
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation = validation
        self.score = score
        self.callbacks = list(callbacks)
        if verbose:
            self.callbacks.append(ProgressPrinter())
        self.learning_rate_name = learning_rate_name
        self.n_shards = int(n_shards)
        self.batch_transform = batch_transform
        self.epoch = 0
        self.n_steps = 0
        self.samples_seen = 0
        self.loss_curve = []
        self.validation_loss_curve = []
        self.validation_scores = []
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_weights = None
        self.no_improvement_count = 0
        self.stop_reason = None
        self.interrupted = False
        self.epochs_run = 0
        self.reference_loss = None
        if resume is not None:
            for name in self.CONTINUED:
                value = getattr(resume, name)
                setattr(self, name, list(value) if isinstance(value, list) else value)

    # -- the loop -----------------------------------------------------------
    def attach(self, network, n_shards=1, batch_transform=None):
        """Train ``network`` (the estimator's, bound to its backend) from now on.

        Called before each fit: after unpickling, the network and the
        optimizer's state must follow the network's backend.
        """
        self.network = network
        self.n_shards = int(n_shards)
        self.batch_transform = batch_transform
        self.optimizer.bind(network.backend)
        # Buffers kept from fit to fit live on the last fit's device (the
        # estimator's may have changed since): made again on first use.
        for key in self._DEVICE_BUFFERS:
            self.__dict__.pop(key, None)

    def partial_run(self, X, y, weight, batch_size):
        """One epoch over ``X`` in batches of ``batch_size``, without validation
        or stopping checks (``partial_fit``)."""
        self.batch_size = batch_size
        self.validation = self.score = None
        self.early_stopping = False
        self.run(X, y, weight, n_epochs=1, check_stopping=False)

    def run(self, X, y, weight, n_epochs=None, check_stopping=True):
        """Train for up to ``n_epochs`` (default: until ``max_iter``) epochs.

        Returns
        -------
        converged : bool
            Whether a stopping criterion ended training before ``max_iter``.

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C, after leaving the network usable (see ``interrupted``).
        """
        n_epochs = self.max_iter - self.epoch if n_epochs is None else n_epochs
        self.epochs_run = 0
        self.interrupted = False
        self.network.check_rows(min(self.batch_size, X.shape[0]), training=True)
        data = self._stage(X, y, weight)
        for cb in self.callbacks:
            cb.on_train_begin(self)
        converged = False
        # Sharded steps run BLAS in each shard's thread, one thread each.
        stack = contextlib.ExitStack()
        # Non-finite values are detected once per epoch and reported as a
        # DivergenceError; numpy's own warnings from inside the products
        # would only repeat it less clearly.
        stack.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore"))
        stack.enter_context(self.network.backend.training(self.n_shards))
        try:
            for _ in range(n_epochs):
                logs = self.run_epoch(data)
                stop = self._end_of_epoch(logs, check_stopping)
                if stop:
                    converged = True
                    break
        except KeyboardInterrupt:
            # Ctrl-C stops the caller too (a script, a notebook cell, a search
            # over parameters); the network is left usable first.
            self.interrupted = True
            self._keep_finite_weights()
            raise
        finally:
            stack.close()
            if self.early_stopping and self.best_weights is not None:
                self.network.set_weights(self.best_weights)
            for cb in self.callbacks:
                cb.on_train_end(self)
        return converged

    def _stage(self, X, y, weight):
        """Put the data where the kernels run, once per call of :meth:`run`.

        The host keeps its copy of the weights: each batch's total weight is
        summed there, so no number crosses from the device per batch.
        """
        backend = self.network.backend
        weight = np.ascontiguousarray(weight)
        data = {
            "n": X.shape[0],
            "X": X if hasattr(X, "tocsr") else backend.asarray(X),
            "y": backend.asarray(y, dtype=y.dtype),
            "weight_host": weight,
            "weight": backend.asarray(weight, dtype=weight.dtype),
        }
        if self.validation is not None:
            Xv, yv, wv = self.validation
            w_norm = np.ascontiguousarray(wv / wv.sum(dtype=np.float64), dtype=wv.dtype)
            data["validation"] = (backend.asarray(Xv), backend.asarray(yv, dtype=yv.dtype),
                                  backend.asarray(w_norm, dtype=w_norm.dtype))
        return data

    def run_epoch(self, data):
        """One pass over the staged data; returns the epoch's logs."""
        backend = self.network.backend
        n = data["n"]
        batch_size = min(self.batch_size, n)
        for cb in self.callbacks:
            cb.on_epoch_begin(self)
        # Only callbacks that override on_batch_end are called per batch
        # (ProgressPrinter: a clock read until an epoch runs long).
        batch_hooks = [cb for cb in self.callbacks
                       if type(cb).on_batch_end is not Callback.on_batch_end]
        batches_in_epoch = -(-n // batch_size)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        order = order.astype(np.intp)
        order_device = backend.asarray(order, dtype=np.intp)  # one copy per epoch
        self._take_snapshot()
        # One rate per epoch, as scikit-learn's schedules (invscaling included).
        lr = self.schedule.rate(self.epoch, self.samples_seen)
        loss_sum = backend.zeros((1,), dtype=np.float64)
        total_weight = 0.0
        n_batches = 0
        first_batch_loss = None
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            w_sum = float(data["weight_host"][order[start:stop]].sum(dtype=np.float64))
            if w_sum <= 0.0:
                continue  # a batch of zero-weight rows carries no information
            xb, yb, wb = self._gather(data, order, order_device, start, stop, w_sum)
            if self.batch_transform is not None:
                xb, yb, wb = self.batch_transform(xb, yb, wb, self.n_steps)
            self.train_step(xb, yb, wb, lr, self.alpha / w_sum)
            self.n_steps += 1
            self._step_loss.accumulate(wb, w_sum, loss_sum)
            if (self.reference_loss is None and n_batches == 0
                    and stop - start >= REFERENCE_BATCH_ROWS):
                # The loss at the initial weights: read once in a trainer's life.
                first_batch_loss = float(backend.to_host(loss_sum)[0]) / w_sum
            total_weight += w_sum
            n_batches += 1
            self.samples_seen += stop - start
            for cb in batch_hooks:
                cb.on_batch_end(self, n_batches, batches_in_epoch)
        # The epoch's numbers come back to the host once, at its end.
        loss = float(backend.to_host(loss_sum)[0]) / max(total_weight, np.finfo(float).tiny)
        decay_norm, all_norm = self._squared_norms()
        if self.alpha > 0.0 and n_batches:
            # The penalty as the batches saw it, evaluated once per epoch.
            loss += 0.5 * self.alpha * decay_norm * n_batches / total_weight
        if not (math.isfinite(loss) and math.isfinite(all_norm)):
            # Checked once per epoch: a non-finite batch makes the epoch's loss
            # or weights non-finite too, the last update included.
            self._diverged(f"the loss became {loss}", lr)
        if self.reference_loss is None:
            if first_batch_loss is not None and first_batch_loss < loss:
                self.reference_loss, reference = first_batch_loss, "the initial weights'"
            else:
                self.reference_loss, reference = loss, "the first epoch's"
            self._reference_name = reference
        if loss > DIVERGENCE_FACTOR * self.reference_loss:
            self._diverged(f"the loss rose to {loss:.4g}, more than {DIVERGENCE_FACTOR:g} "
                           f"times {self._reference_name} {self.reference_loss:.4g}", lr)
        self.epoch += 1
        self.epochs_run += 1
        logs = {"epoch": self.epoch, "loss": loss}
        self.loss_curve.append(loss)
        if "validation" in data:
            logs["val_loss"] = self.evaluate_loss(*data["validation"])
            self.validation_loss_curve.append(logs["val_loss"])
            if self.score is not None:
                logs["val_score"] = float(self.score(self.network))
                self.validation_scores.append(logs["val_score"])
        return logs

    def train_step(self, xb, yb, wb, lr, l2):
        """Forward, loss, backward and update on one batch."""
        self._step_loss = self.network.backend.train_step(
            self.network, self.loss, self.optimizer, xb, yb, wb, lr, l2, self.n_shards)

    # -- helpers ------------------------------------------------------------
    def _gather(self, data, order, order_device, start, stop, w_sum):
        """Batch rows, in buffers reused from batch to batch; weights normalized."""
        backend = self.network.backend
        X, y = data["X"], data["y"]
        m = stop - start
        sparse = hasattr(X, "tocsr")
        bufs = self.__dict__.setdefault("_batch_buffers", {})
        key = (m, sparse, X.shape[1:], y.shape[1:], str(y.dtype))
        if key not in bufs:
            if len(bufs) >= 4:
                bufs.clear()
            bufs[key] = (
                None if sparse else backend.empty((m,) + X.shape[1:]),
                backend.empty((m,) + y.shape[1:], dtype=y.dtype),
                backend.empty((m,)),
            )
        xb, yb, wb = bufs[key]
        idx = order_device[start:stop]
        dense = backend.dense
        if sparse:
            xb = X[order[start:stop]]
        else:
            dense.take_rows(xb.reshape(m, -1), X.reshape(X.shape[0], -1), idx)
        if y.ndim == 1:
            dense.take(yb, y, idx)
        else:
            dense.take_rows(yb, y, idx)
        dense.take_scaled(wb, data["weight"], idx, backend.scalar(1.0 / w_sum))
        return xb, yb, wb

    def _squared_norms(self):
        """Sums of squares of the decayed weights and of all parameters (float64)."""
        backend = self.network.backend
        acc = self.__dict__.get("_norm_acc")
        if acc is None:
            acc = self._norm_acc = backend.zeros((2,), dtype=np.float64)
        backend.dense.fill(acc, 0.0)
        for layer, name in self.network.parameters():
            slot = acc[0:1] if name in layer.decay else acc[1:2]
            backend.dense.sum_squares(layer.params[name].reshape(-1), slot)  # one signature
        decay, other = backend.to_host(acc)
        return float(decay), float(decay + other)

    #: Rows per forward pass when evaluating the validation loss.
    eval_chunk = 1024

    def evaluate_loss(self, X, y, weight, chunk=None):
        """Mean loss on staged ``X`` with normalized ``weight`` (no penalty, no dropout)."""
        backend = self.network.backend
        chunk = self.eval_chunk if chunk is None else chunk
        acc = backend.zeros((1,), dtype=np.float64)
        for start in range(0, X.shape[0], chunk):
            stop = min(start + chunk, X.shape[0])
            out = backend.evaluate(self.network, self.loss, X[start:stop], self.n_shards)
            self.loss(out, y[start:stop], weight[start:stop])
            self.loss.accumulate(weight[start:stop], 1.0, acc)
        return float(backend.to_host(acc)[0])

    def _take_snapshot(self):
        """Copy the weights into buffers kept from epoch to epoch (on the device)."""
        backend = self.network.backend
        params = [layer.params[name] for layer, name in self.network.parameters()]
        snapshot = self.__dict__.get("_snapshot")
        if snapshot is None or [a.shape for a in snapshot] != [p.shape for p in params]:
            snapshot = self._snapshot = [backend.empty(p.shape) for p in params]
        for buf, p in zip(snapshot, params):
            backend.dense.copy(buf.reshape(-1), p.reshape(-1))  # one compiled signature

    def _keep_finite_weights(self):
        """After an interruption: back to the epoch's first weights if the
        batches since made them non-finite (the epoch's end would have said so)."""
        snapshot = self.__dict__.get("_snapshot")
        if snapshot is None or math.isfinite(self._squared_norms()[1]):
            return
        for (layer, name), saved in zip(self.network.parameters(), snapshot):
            self.network.backend.dense.copy(layer.params[name], saved)

    def _diverged(self, what, lr):
        for (layer, name), saved in zip(self.network.parameters(), self._snapshot):
            self.network.backend.dense.copy(layer.params[name], saved)
        self.optimizer.state = None
        raise DivergenceError(
            f"Training diverged during epoch {self.epoch + 1}: {what}. "
            f"Lower the learning rate ({self.learning_rate_name}={self.schedule.eta0:g}; "
            f"rate at this epoch {lr:g}) or scale the inputs (e.g. with StandardScaler)."
        )

    def _end_of_epoch(self, logs, check_stopping):
        """Update best values and counters; return True to stop training."""
        stop = False
        # tol=None: no stopping criterion (the improvement counter never runs),
        # while the best weights and loss are still tracked.
        tol = -np.inf if self.tol is None else self.tol
        if self.early_stopping and "val_score" in logs:
            score = logs["val_score"]
            if score < self.best_validation_score + tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if score > self.best_validation_score:
                self.best_validation_score = score
                self.best_weights = self.network.get_weights()
        else:
            loss = logs["loss"]
            if loss > self.best_loss - tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if loss < self.best_loss:
                self.best_loss = loss
        for cb in self.callbacks:
            try:
                cb.on_epoch_end(self, logs)
            except StopIteration:
                self.stop_reason = f"Stopped by callback {type(cb).__name__}."
                stop = True
        if check_stopping and self.no_improvement_count > self.n_iter_no_change:
            criterion = ("Validation score" if self.early_stopping and "val_score" in logs
                         else "Training loss")
            if self.schedule.stalled(verbose=any(isinstance(c, ProgressPrinter)
                                                 for c in self.callbacks)):
                self.stop_reason = (
                    f"{criterion} did not improve more than tol={self.tol} for "
                    f"{self.n_iter_no_change} consecutive epochs."
                )
                stop = True
            else:
                self.no_improvement_count = 0
        return stop

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in self._DEVICE_BUFFERS:
            state.pop(key, None)
        state["validation"] = None
        state["score"] = None
        state["batch_transform"] = None  # the estimator sets it again at each fit
        return state


def fit_lbfgs(network, loss, X, y, weight, *, alpha, max_iter, max_fun, tol):
    """Full-batch training with scipy's L-BFGS-B, as scikit-learn's ``solver="lbfgs"``.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
        With ``initial_fun``, the objective at the starting weights (the scale
        for :data:`DIVERGENCE_FACTOR`).
    """
    from scipy.optimize import minimize

    network.check_rows(X.shape[0], training=True)  # one batch of every row
    params = list(network.parameters())
    shapes = [layer.params[name].shape for layer, name in params]
    sizes = [int(np.prod(s)) for s in shapes]
    w_total = float(weight.sum(dtype=np.float64))
    backend = network.backend
    w_norm = backend.asarray(weight / w_total, dtype=weight.dtype)
    X = X if hasattr(X, "tocsr") else backend.asarray(X)
    y = backend.asarray(y, dtype=y.dtype)

    def unpack(theta):
        start = 0
        for (layer, name), shape, size in zip(params, shapes, sizes):
            value = theta[start:start + size].reshape(shape)
            backend.dense.copy(layer.params[name], backend.asarray(value))
            start += size

    def objective(theta):
        unpack(theta)
        # training=False: L-BFGS needs a deterministic objective (no dropout).
        out = network.forward(X, training=False)
        value = loss.value(out, y, w_norm)
        network.backward(loss.grad)
        flat_grads = []
        penalty = 0.0
        for layer, name in params:
            g = np.asarray(backend.to_host(layer.grads[name]), dtype=np.float64).ravel()
            if name in layer.decay:
                p = np.asarray(backend.to_host(layer.params[name]), dtype=np.float64).ravel()
                penalty += 0.5 * alpha * float(p @ p) / w_total
                g = g + alpha * p / w_total
            flat_grads.append(g)
        values.append(value + penalty)
        return value + penalty, np.concatenate(flat_grads)

    values = []

    theta0 = np.concatenate([w.ravel().astype(np.float64) for w in network.get_weights()])
    result = minimize(objective, theta0, method="L-BFGS-B", jac=True,
                      options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})
    unpack(result.x)
    result.initial_fun = values[0] if values else result.fun
    return result
