"""The hyper-parameter searches run on Dask and on Ray, next to the same search run locally."""

import numpy as np
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneuro import MLPClassifier


def _pipeline():
    return make_pipeline(StandardScaler(),
                         MLPClassifier((16,), max_iter=5, batch_size=64, random_state=0))


_GRID = {"mlpclassifier__alpha": [1e-4, 1e-1], "mlpclassifier__learning_rate_init": [1e-3]}

#: A fresh search of each kind, by name.
SEARCHES = {
    "grid": lambda: GridSearchCV(_pipeline(), _GRID, cv=3),
    "randomized": lambda: RandomizedSearchCV(
        _pipeline(), {"mlpclassifier__alpha": np.logspace(-5, 0, 20)}, n_iter=2, cv=3,
        random_state=0),
    "halving": lambda: HalvingGridSearchCV(
        _pipeline(), {"mlpclassifier__alpha": [1e-5, 1e-3, 1e-1]}, cv=3, factor=3,
        min_resources=300, random_state=0),
}
