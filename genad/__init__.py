"""genad: generative anomaly detection behind one detector API.

>>> import genad
>>> det = genad.create("ae", epochs=20, random_state=0).fit(X_train)   # doctest: +SKIP
>>> scores = det.decision_function(X_test)                              # doctest: +SKIP
"""
__version__ = "0.1.0"

from genad.base import BaseDetector, load
from genad.registry import create, get_info, list_models, register

__all__ = ["BaseDetector", "create", "get_info", "list_models", "load", "register", "__version__"]
