from skneuro import Perceptron

from .common import Estimator, Predictor, Scorer, digits


class PerceptronBenchmark(Predictor, Scorer, Estimator):
    """Rosenblatt's rule, 20 epochs, on digits (small) and tiled digits (medium)."""

    param_names = ["n_samples"]
    params = ([1797, 20000],)

    def make_data(self, params):
        return digits(params[0])

    def make_estimator(self, params):
        return Perceptron(max_iter=20, random_state=0)
