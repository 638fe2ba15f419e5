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

import math

import numpy as np

from skneuro._warnings import warn
from skneuro.nn.callbacks import ProgressPrinter


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or weights.

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
    tol : float, default=1e-4
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
    """

    def __init__(self, network, loss, optimizer, schedule, *, batch_size, max_iter, rng,
                 shuffle=True, alpha=0.0, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation=None, score=None, callbacks=(),
                 verbose=False, learning_rate_name="learning_rate_init"):
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
        self.epoch = 0
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

    # -- the loop -----------------------------------------------------------
    def run(self, X, y, weight, n_epochs=None, check_stopping=True):
        """Train for up to ``n_epochs`` (default: until ``max_iter``) epochs.

        Returns
        -------
        converged : bool
            Whether a stopping criterion ended training before ``max_iter``.
        """
        n_epochs = self.max_iter - self.epoch if n_epochs is None else n_epochs
        for cb in self.callbacks:
            cb.on_train_begin(self)
        converged = False
        try:
            for _ in range(n_epochs):
                logs = self.run_epoch(X, y, weight)
                stop = self._end_of_epoch(logs, check_stopping)
                if stop:
                    converged = True
                    break
        except KeyboardInterrupt:
            warn(
                f"Training interrupted by the user after {self.epoch} epochs; "
                "the model keeps the weights it had reached"
                + (" at its best validation score." if self.early_stopping
                   and self.best_weights is not None else "."),
                UserWarning,
            )
            self.interrupted = True
            converged = True
        finally:
            if self.early_stopping and self.best_weights is not None:
                self.network.set_weights(self.best_weights)
            for cb in self.callbacks:
                cb.on_train_end(self)
        return converged

    def run_epoch(self, X, y, weight):
        """One pass over the data; returns the epoch's logs."""
        n = X.shape[0]
        batch_size = min(self.batch_size, n)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        order = order.astype(np.intp)
        self._take_snapshot()
        # One rate per epoch, as scikit-learn's schedules (invscaling included).
        lr = self.schedule.rate(self.epoch, self.samples_seen)
        total_loss = 0.0
        total_weight = 0.0
        n_batches = 0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb, wb, w_sum = self._gather(X, y, weight, idx)
            if w_sum <= 0.0:
                continue  # a batch of zero-weight rows carries no information
            batch_loss = self.train_step(xb, yb, wb, lr, self.alpha / w_sum)
            if not math.isfinite(batch_loss):
                self._diverged(batch_loss, lr)
            total_loss += batch_loss * w_sum
            total_weight += w_sum
            n_batches += 1
            self.samples_seen += idx.shape[0]
        loss = total_loss / max(total_weight, np.finfo(float).tiny)
        if self.alpha > 0.0 and n_batches:
            # The penalty as the batches saw it, evaluated once per epoch.
            loss += 0.5 * self.alpha * self._squared_weight_norm() * n_batches / total_weight
        if not math.isfinite(loss) or not self._weights_are_finite():
            # The last update of the epoch is checked here: its loss was
            # computed before it was applied.
            self._diverged(loss, lr)
        self.epoch += 1
        logs = {"epoch": self.epoch, "loss": loss}
        self.loss_curve.append(loss)
        if self.validation is not None:
            Xv, yv, wv = self.validation
            logs["val_loss"] = self.evaluate_loss(Xv, yv, wv)
            self.validation_loss_curve.append(logs["val_loss"])
            if self.score is not None:
                logs["val_score"] = float(self.score(self.network))
                self.validation_scores.append(logs["val_score"])
        return logs

    def train_step(self, xb, yb, wb, lr, l2):
        """Forward, loss, backward and update on one batch; returns the batch loss."""
        out = self.network.forward(xb, training=True)
        value, grad = self.loss(out, yb, wb)
        self.network.backward(grad)
        self.optimizer.step(self.network, lr, l2)
        return value

    # -- helpers ------------------------------------------------------------
    def _gather(self, X, y, weight, idx):
        """Rows ``idx`` of the data, in reusable buffers; weights normalized."""
        m = idx.shape[0]
        bufs = self.__dict__.setdefault("_batch_buffers", {})
        key = (m, hasattr(X, "tocsr"), X.shape[1:], y.shape[1:], y.dtype)
        if key not in bufs:
            backend = self.network.backend
            if len(bufs) >= 4:
                bufs.clear()
            bufs[key] = (
                None if hasattr(X, "tocsr") else backend.empty((m,) + X.shape[1:]),
                backend.empty((m,) + y.shape[1:], dtype=y.dtype),
                np.empty(m, dtype=weight.dtype),
            )
        xb, yb, wb = bufs[key]
        take_rows = self.network.backend.dense.take_rows
        if xb is None:
            xb = X[idx]
        else:
            take_rows(xb.reshape(m, -1), X.reshape(X.shape[0], -1), idx)
        if y.ndim == 1:
            np.take(y, idx, out=yb)
        else:
            take_rows(yb, y, idx)
        np.take(weight, idx, out=wb)
        w_sum = float(wb.sum(dtype=np.float64))
        if w_sum > 0.0:
            wb *= wb.dtype.type(1.0 / w_sum)
        return xb, yb, wb, w_sum

    def _squared_weight_norm(self):
        total = 0.0
        for layer, name in self.network.parameters():
            if name in layer.decay:
                p = layer.params[name].ravel()
                total += float(np.dot(p, p))
        return total

    def evaluate_loss(self, X, y, weight, chunk=1024):
        """Weighted mean loss on ``X`` (no penalty, no dropout)."""
        w_total = float(weight.sum(dtype=np.float64))
        total = 0.0
        for start in range(0, X.shape[0], chunk):
            sl = slice(start, start + chunk)
            out = self.network.forward(X[sl], training=False)
            w = np.ascontiguousarray(weight[sl] / w_total, dtype=weight.dtype)
            value, _ = self.loss(out, y[sl], w)
            total += value
        return total

    def _take_snapshot(self):
        """Copy the weights into buffers kept from epoch to epoch."""
        params = [layer.params[name] for layer, name in self.network.parameters()]
        snapshot = self.__dict__.get("_snapshot")
        if snapshot is None or [a.shape for a in snapshot] != [p.shape for p in params]:
            snapshot = self._snapshot = [np.empty_like(p) for p in params]
        for buf, p in zip(snapshot, params):
            np.copyto(buf, p)

    def _weights_are_finite(self):
        return all(math.isfinite(float(layer.params[name].sum(dtype=np.float64)))
                   for layer, name in self.network.parameters())

    def _diverged(self, loss, lr):
        for (layer, name), saved in zip(self.network.parameters(), self._snapshot):
            np.copyto(layer.params[name], saved)
        self.optimizer.state = None
        raise DivergenceError(
            f"Training diverged during epoch {self.epoch + 1}: the loss became {loss}. "
            f"Lower the learning rate ({self.learning_rate_name}={self.schedule.eta0:g}; "
            f"rate at this epoch {lr:g}) or scale the inputs (e.g. with StandardScaler)."
        )

    def _end_of_epoch(self, logs, check_stopping):
        """Update best values and counters; return True to stop training."""
        stop = False
        if self.early_stopping and "val_score" in logs:
            score = logs["val_score"]
            if score < self.best_validation_score + self.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if score > self.best_validation_score:
                self.best_validation_score = score
                self.best_weights = self.network.get_weights()
        else:
            loss = logs["loss"]
            if loss > self.best_loss - self.tol:
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
        state.pop("_batch_buffers", None)
        state.pop("_snapshot", None)
        state["validation"] = None
        state["score"] = None
        return state


def fit_lbfgs(network, loss, X, y, weight, *, alpha, max_iter, max_fun, tol):
    """Full-batch training with scipy's L-BFGS-B, as scikit-learn's ``solver="lbfgs"``.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
    """
    from scipy.optimize import minimize

    params = list(network.parameters())
    shapes = [layer.params[name].shape for layer, name in params]
    sizes = [int(np.prod(s)) for s in shapes]
    w_total = float(weight.sum(dtype=np.float64))
    w_norm = np.ascontiguousarray(weight / w_total, dtype=weight.dtype)
    backend = network.backend

    def unpack(theta):
        start = 0
        for (layer, name), shape, size in zip(params, shapes, sizes):
            layer.params[name][...] = backend.asarray(theta[start:start + size].reshape(shape))
            start += size

    def objective(theta):
        unpack(theta)
        # training=False: L-BFGS needs a deterministic objective (no dropout).
        out = network.forward(X, training=False)
        value, grad = loss(out, y, w_norm)
        network.backward(grad)
        flat_grads = []
        penalty = 0.0
        for layer, name in params:
            g = np.asarray(backend.to_host(layer.grads[name]), dtype=np.float64).ravel()
            if name in layer.decay:
                p = np.asarray(backend.to_host(layer.params[name]), dtype=np.float64).ravel()
                penalty += 0.5 * alpha * float(p @ p) / w_total
                g = g + alpha * p / w_total
            flat_grads.append(g)
        return value + penalty, np.concatenate(flat_grads)

    theta0 = np.concatenate([w.ravel().astype(np.float64) for w in network.get_weights()])
    result = minimize(objective, theta0, method="L-BFGS-B", jac=True,
                      options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})
    unpack(result.x)
    return result
