"""Hybrid models: detectors that combine generative detectors of different families."""
from genad.models.hybrid.ensemble import ScoreEnsemble

__all__ = ["ScoreEnsemble"]
