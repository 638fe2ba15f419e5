"""What every backend provides: the operations the engine asks for, declared once.

The engine (:mod:`skneuro.nn`) computes through a backend: each layer calls
the kernel operations below (``backend.dense.matmul(...)``,
``backend.activations.bias_activation_forward(...)``, ...) and the backend's
strategy methods (:data:`STRATEGIES`). Both backends provide all of them,
and every kernel operation has a CPU and a CUDA implementation checked
against each other (``tests/test_cuda.py``, on numba's simulator in CI);
``tests/test_backends.py`` checks both. How a backend runs them is its own
business: the CPU's private strategies (lanes regions, Winograd, dense
chains, shards, prediction passes that skip zeros) are not part of the
contract and have no CUDA twin.
"""

#: Kernel operations, by kernel module: ``backend.<module>.<function>``.
OPERATIONS = {
    "activations": ("activation_backward", "activation_forward", "bias_activation_forward"),
    "augment": ("augment",),
    "conv": ("channel_bias_activation", "channels_to_samples", "col2im", "flip_filters",
             "im2col", "samples_to_channels"),
    "dense": ("add", "add_into", "bias_activation_backward", "column_sum", "copy", "fill",
              "matmul", "matmul_bias_activation", "matmul_nt", "matmul_rows", "matmul_tn",
              "put_columns", "row_sum", "sum_squares", "take", "take_columns", "take_rows",
              "take_scaled"),
    "diffusion": ("diffusion_noise", "drop_labels"),
    "dropout": ("dropout_backward", "dropout_forward"),
    "embedding": ("add_channel_vector", "channel_sums", "one_hot", "sinusoidal_embedding"),
    "gaussian": ("gaussian_noise", "gaussian_sample_backward", "gaussian_sample_forward"),
    "losses": ("exp", "poisson_deviance", "sigmoid", "sigmoid_binary_cross_entropy",
               "softmax", "softmax_cross_entropy", "squared_error", "vae_squared_error",
               "weighted_sum"),
    "norm": ("group_norm_backward", "group_norm_forward"),
    "optim": ("adagrad_update", "adam_update", "rmsprop_update", "sgd_update"),
    "perceptron": ("perceptron_epoch", "perceptron_epoch_sparse"),
    "pool": ("avg_pool_backward", "avg_pool_forward", "max_pool_backward", "max_pool_forward"),
    "resample": ("upsample_nearest_backward", "upsample_nearest_forward"),
}

#: Methods through which a backend decides how whole computations run.
STRATEGIES = (
    "empty", "zeros", "asarray", "to_host", "scalar",  # arrays
    "arrange_parameters",                              # where parameters live
    "plan",                                            # a network's steps for a batch
    "convolution_forward", "convolution_backward",    # a Conv layer's passes
    "predict", "predicting",                           # a prediction over many rows
    "shards", "training", "train_step", "evaluate",   # a fit's steps
)


def missing_operations(backend):
    """The declared operations ``backend`` lacks, as ``"module.function"`` strings."""
    missing = [name for name in STRATEGIES if not callable(getattr(backend, name, None))]
    for module, functions in OPERATIONS.items():
        kernels = getattr(backend, module, None)
        missing.extend(f"{module}.{fn}" for fn in functions
                       if not callable(getattr(kernels, fn, None)))
    return missing
