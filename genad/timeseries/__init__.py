"""Time series: sliding windows, the fold-back of window scores, the tabular adapter and stream thresholds."""
from genad.timeseries.adapter import WindowedDetector, windowed
from genad.timeseries.base import RestoringSeriesDetector, SeriesDetector, TorchSeriesDetector
from genad.timeseries.thresholds import DSPOT, SPOT, DynamicThreshold
from genad.timeseries.windows import fill_gaps, fold_back, sliding_windows, window_starts

__all__ = ["DSPOT", "DynamicThreshold", "RestoringSeriesDetector", "SPOT", "SeriesDetector", "TorchSeriesDetector",
           "WindowedDetector", "fill_gaps", "fold_back", "sliding_windows", "window_starts", "windowed"]
