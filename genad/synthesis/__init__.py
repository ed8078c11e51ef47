"""Making realistic anomalies: tabular types as in ADBench (local, global, dependency, clustered)."""
from genad.synthesis.tabular import ANOMALY_TYPES, generate_anomalies, replace_anomalies

__all__ = ["ANOMALY_TYPES", "generate_anomalies", "replace_anomalies"]
from genad.synthesis.timeseries import TIMESERIES_ANOMALY_TYPES, inject_anomalies  # noqa: E402

__all__ += ["TIMESERIES_ANOMALY_TYPES", "inject_anomalies"]
