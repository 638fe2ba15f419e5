from skneuro import MLPClassifier, MLPRegressor

from .common import Estimator, Predictor, Scorer, digits


class MLPClassifierBenchmark(Predictor, Scorer, Estimator):
    """Adam, batch 64, 10 epochs; a small and a medium network on digits."""

    param_names = ["hidden_layer_sizes"]
    params = (["64", "256-128"],)

    def make_data(self, params):
        return digits()

    def make_estimator(self, params):
        hidden = tuple(int(h) for h in params[0].split("-"))
        return MLPClassifier(hidden, batch_size=64, max_iter=10, random_state=0)


class MLPRegressorBenchmark(Predictor, Scorer, Estimator):
    """Regressing the digit's value (a stand-in for a smooth target), 10 epochs."""

    param_names = ["hidden_layer_sizes"]
    params = (["64", "256-128"],)

    def make_data(self, params):
        X_train, X_test, y_train, y_test = digits()
        return X_train, X_test, y_train.astype(float), y_test.astype(float)

    def make_estimator(self, params):
        hidden = tuple(int(h) for h in params[0].split("-"))
        return MLPRegressor(hidden, batch_size=64, max_iter=10, random_state=0)
