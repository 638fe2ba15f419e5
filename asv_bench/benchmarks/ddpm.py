from skneuro import DDPM

from .common import Estimator, Scorer, digits


class DDPMBenchmark(Scorer, Estimator):
    """The default U-Net on the digits (T = 200), 2 epochs; sampling 100 digits with a
    50-step DDIM sampler; the held-out score (negative denoising loss, fixed draws)."""

    def make_data(self, params):
        return digits()

    def make_estimator(self, params):
        return DDPM(input_shape=(1, 8, 8), max_iter=2, n_iter_no_change=3,
                    sampling_steps=50, random_state=0)

    def time_sample(self):
        self.estimator.sample(100, random_state=0)
