"""Prediction over many rows: the network run in passes of a bounded number of rows."""


def predict_in_passes(network, X, out, chunk, finish):
    """Fill ``out`` (a host array) with ``network``'s outputs for ``X``, ``chunk`` rows
    at a time; ``finish`` (or None) is applied in place to each pass's output
    (the output activation)."""
    backend = network.backend
    n = X.shape[0]
    network.check_rows(min(n, chunk), training=False)
    for start in range(0, n, chunk):
        rows = X[start:start + chunk]
        result = network.forward(rows if hasattr(rows, "tocsr") else backend.asarray(rows))
        if finish is not None:
            finish(result)
        out[start:start + chunk] = backend.to_host(result)
