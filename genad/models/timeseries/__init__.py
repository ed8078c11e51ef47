"""Time-series detectors: ``(T, D)`` series in, one anomaly score per time step out."""
from genad.models.timeseries.beatgan import BeatGAN
from genad.models.timeseries.dbls_ae import DBLSAE
from genad.models.timeseries.deepant import DeepAnT
from genad.models.timeseries.donut import Donut
from genad.models.timeseries.ganf import GANF
from genad.models.timeseries.interfusion import InterFusion
from genad.models.timeseries.lstm_ad import LSTMAD
from genad.models.timeseries.mscred import MSCRED
from genad.models.timeseries.omni_anomaly import OmniAnomaly
from genad.models.timeseries.rae_ensemble import RAEEnsemble
from genad.models.timeseries.tranad import TranAD
from genad.models.timeseries.usad import USAD

__all__ = ["BeatGAN", "DBLSAE", "DeepAnT", "Donut", "GANF", "InterFusion", "LSTMAD", "MSCRED", "OmniAnomaly", "RAEEnsemble", "TranAD", "USAD"]
