"""What every supervised network estimator shares, whatever its architecture.

``SupervisedNetworkMixin`` turns ``fit``/``partial_fit`` arguments into a
training run (validation of X, y and weights, the validation set, the
transaction around the fit); ``NetworkClassifierMixin`` and
``NetworkRegressorMixin`` add the target encoding, the loss, the validation
score and the public prediction methods. An estimator combines one of the
latter with an architecture class that defines ``_build_network`` (the MLPs
in :mod:`skneuro.mlp`, the CNNs in :mod:`skneuro.cnn`).
"""

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    validate_data,
)

from skneuro._locks import synchronized
from skneuro.kernels.host import all_finite
from skneuro.nn import (
    PoissonDeviance,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
)


class SupervisedNetworkMixin:
    """Fitting logic shared by the classifiers and regressors."""

    # -- input ------------------------------------------------------------
    #: Whether X may have more than 2 dimensions (images, spectra).
    _allow_nd = False
    #: Sparse formats accepted for X (False: none).
    _accept_sparse = ("csr", "csc")

    def _validate_X(self, X, reset, return_dtype=False):
        """X checked, in the compute dtype and the network's per-sample shape.

        With ``return_dtype``, also the floating dtype X came in (float32 or
        float64; other types are read as float64), which outputs take.
        """
        if not reset and _is_plain_valid_array(X, self):
            # Prediction fast path: a 2-D float ndarray of the right width, on a
            # model fitted without feature names, needs none of validate_data's
            # conversions; its checks cost 100 us, more than predicting one row.
            dtype = X.dtype
            X = np.ascontiguousarray(X, dtype=self._compute_dtype)
        else:
            X = validate_data(self, X, accept_sparse=self._sparse_formats(),
                              dtype=[np.float64, np.float32], allow_nd=self._allow_nd,
                              reset=reset)
            dtype = X.dtype
            X = self._to_compute(X)
        X = self._to_network_input(X, reset=False)
        return (X, dtype) if return_dtype else X

    def _sparse_formats(self):
        return list(self._accept_sparse) if self._accept_sparse else False

    def _to_network_input(self, X, reset):
        """Give validated X the per-sample shape the network takes (here: as it is)."""
        return X

    def _align_layout(self, X):
        """X in the layout the estimator was fitted on (here: as it is)."""
        return X

    # -- fit (the outline is BaseNetworkEstimator._fit_outline) ------------
    def _training_data(self, X, y, reset, incremental, classes=None):
        """Validated X in the network's shape, encoded targets, and y as validated."""
        if not reset:
            X = self._align_layout(X)
        X, y = validate_data(self, X, y, accept_sparse=self._sparse_formats(),
                             multi_output=True,
                             dtype=[np.float64, np.float32], y_numeric=self._y_numeric,
                             allow_nd=self._allow_nd, reset=reset)
        X = self._to_network_input(self._to_compute(X), reset=reset)
        if not reset and not incremental:
            self._check_warm_start_classes(y)
        targets = self._encode_targets(y, reset=reset, classes=classes)
        self._n_network_outputs = self.n_outputs_
        return X, targets, y

    def _validation_set(self, validation_data):
        """``(X_val, y_val)`` checked like the training data, encoded, unit weights."""
        try:
            Xv, yv = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a tuple (X_val, y_val).") from None
        yv = np.asarray(yv)
        if yv.ndim == 2 and yv.shape[1] == 1:
            yv = column_or_1d(yv)
        check_consistent_length(Xv, yv)
        Xv = self._validate_X(Xv, reset=False)
        yv = check_array(yv, ensure_2d=False, dtype=None if not self._y_numeric else "numeric",
                         input_name="y_val")
        return Xv, self._encode_targets(yv, reset=False), np.ones(Xv.shape[0],
                                                                  dtype=self._compute_dtype)



def _is_plain_valid_array(X, estimator):
    """Whether ``X`` passes every check ``validate_data`` would make at predict time.

    Anything else (lists, DataFrames, sparse or integer data, a wrong width,
    non-finite values) goes through ``validate_data``, which converts it or
    raises scikit-learn's error.
    """
    return (type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 0
            and X.dtype in (np.float32, np.float64)
            and X.shape[1] == estimator.n_features_in_
            and not hasattr(estimator, "feature_names_in_")
            and (all_finite(X) if X.flags.c_contiguous
                 # The sum is finite only if every value is (as in scikit-learn's
                 # own check; an overflow merely sends X down the full path).
                 else np.isfinite(X.sum())))


class NetworkClassifierMixin(SupervisedNetworkMixin):
    """Targets, loss and prediction methods of the network classifiers.

    Binary targets use one sigmoid output, multiclass targets a softmax
    output, multilabel indicator targets independent sigmoid outputs.
    """

    _y_numeric = False

    def _stratify_by(self, y):
        # scikit-learn stratifies the early-stopping split of binary targets only.
        return y if self._binary else None

    def _check_warm_start_classes(self, y):
        """A warm-start refit must see the classes of the first fit (as scikit-learn)."""
        if self._multilabel:
            return
        classes = unique_labels(y)
        if set(classes) != set(self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {classes}")

    def _encode_targets(self, y, reset, classes=None):
        """Integer labels (multiclass) or a 0/1 float matrix (binary, multilabel)."""
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = column_or_1d(y, warn=True)
        if reset:
            kind = type_of_target(y, input_name="y")
            if kind not in ("binary", "multiclass", "multilabel-indicator"):
                raise ValueError(f"Unknown label type: {kind!r}. MLPClassifier handles "
                                 "binary, multiclass and multilabel-indicator targets.")
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if classes is None else classes)
            self.classes_ = self._label_binarizer.classes_
            self._multilabel = kind == "multilabel-indicator"
            # One class is fitted as scikit-learn does: a binary output whose
            # target is always 0, and predictions of that class.
            self._binary = not self._multilabel and len(self.classes_) <= 2
            self.n_outputs_ = 1 if self._binary else len(self.classes_)
            self.out_activation_ = "softmax" if not (self._binary or self._multilabel) \
                else "logistic"
        if self._multilabel:
            y = np.asarray(y)
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError("y must have the same labels as in the first call to fit.")
            return np.ascontiguousarray(y, dtype=self._compute_dtype)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y contains classes not seen in the first call to fit or in "
                             f"`classes`: {unseen.tolist()}; expected {self.classes_.tolist()}.")
        if self._binary:
            positive = y == self.classes_[1] if len(self.classes_) > 1 else np.zeros(len(y))
            return np.ascontiguousarray(positive.reshape(-1, 1), dtype=self._compute_dtype)
        return np.searchsorted(self.classes_, y).astype(np.intp)

    def _make_loss(self):
        if self._binary or self._multilabel:
            return SigmoidBinaryCrossEntropy()
        return SoftmaxCrossEntropy()

    def _apply_class_weight(self, weight, y, incremental):
        if self.class_weight is None:
            return weight
        if incremental and self.class_weight == "balanced":
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: "
                             "give the class weights as a dict computed on all the data.")
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"class_weight names classes not in the data: "
                                 f"{sorted(unknown)}; classes are {self.classes_.tolist()}.")
        factor = compute_sample_weight(self.class_weight, y)
        return np.ascontiguousarray(weight * factor, dtype=weight.dtype)

    def _validation_scorer(self, Xv, yv_enc, wv):
        y_true = self._decode(self._decode_encoded(yv_enc))

        def score(network):
            return accuracy_score(y_true, self._decode(self._forward(Xv)),
                                  sample_weight=wv)
        return score

    def _decode_encoded(self, targets):
        """Encoded targets back to probability-like rows for ``_decode``."""
        if self._binary or self._multilabel:
            return targets
        onehot = np.zeros((targets.shape[0], len(self.classes_)), dtype=self._compute_dtype)
        onehot[np.arange(targets.shape[0]), targets] = 1
        return onehot

    def _decode(self, proba):
        """Labels from output probabilities."""
        if self._multilabel:
            return (proba > 0.5).astype(int)
        if self._binary:
            positive = (proba[:, 0] > 0.5).astype(int)
            return self.classes_[np.minimum(positive, len(self.classes_) - 1)]
        return self.classes_[np.argmax(proba, axis=1)]

    # -- public API -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample; the loss is the weighted mean over samples,
            so an integer weight acts like repeating the row.
        validation_data : tuple (X_val, y_val), default=None
            A validation set to monitor (``validation_loss_curve_``) and, with
            ``early_stopping=True``, to stop on instead of an internal split.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False,
                         validation_data=validation_data)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train one epoch on the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call.

        Returns
        -------
        self : object
        """
        first = _check_partial_fit_first_call(self, classes)
        if first:
            self.__dict__.pop("network_", None)
        return self._fit(X, y, sample_weight, incremental=True,
                         classes=classes if first else None)

    @synchronized
    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For multilabel targets, the independent probability of each label.
            In X's floating dtype (float32 in, float32 out; other input gives
            float64), whatever ``dtype`` the model computes in.
        """
        self._check_is_fitted()
        X, dtype = self._validate_X(X, reset=False, return_dtype=True)
        proba = self._forward(X).astype(dtype, copy=False)
        if self._binary:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @synchronized
    def predict(self, X):
        """Predicted class labels (label indicator rows for multilabel targets).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        self._check_is_fitted()
        return self._decode(self._forward(self._validate_X(X, reset=False)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NetworkRegressorMixin(SupervisedNetworkMixin):
    """Targets, loss and prediction methods of the network regressors."""

    _y_numeric = True

    def _check_warm_start_classes(self, y):
        pass

    def _encode_targets(self, y, reset, classes=None):
        y = np.asarray(y)
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if self._loss_name == "poisson" and np.any(targets < 0):
            raise ValueError("loss='poisson' requires non-negative y; got a minimum of "
                             f"{targets.min()}.")
        if reset:
            self.n_outputs_ = targets.shape[1]
            self.out_activation_ = "exp" if self._loss_name == "poisson" else "identity"
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {targets.shape[1]} outputs; the model was fitted with "
                             f"{self.n_outputs_}.")
        return np.ascontiguousarray(targets, dtype=self._compute_dtype)

    @property
    def _loss_name(self):
        return getattr(self, "loss", "squared_error")

    def _make_loss(self):
        return PoissonDeviance() if self._loss_name == "poisson" else SquaredError()

    def _validation_scorer(self, Xv, yv_enc, wv):
        def score(network):
            return r2_score(yv_enc, self._forward(Xv), sample_weight=wv)
        return score

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the mean loss.
        validation_data : tuple (X_val, y_val), default=None
            A validation set to monitor and, with ``early_stopping=True``, to
            stop on.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=False,
                         validation_data=validation_data)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=True)

    @synchronized
    def predict(self, X):
        """Predicted values, in X's floating dtype (other input gives float64).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        self._check_is_fitted()
        X, dtype = self._validate_X(X, reset=False, return_dtype=True)
        out = self._forward(X).astype(dtype, copy=False)
        return out.ravel() if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
