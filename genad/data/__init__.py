"""Data in: tables from files, and (in later modules) loaders for standard benchmark formats."""
from genad.data.io import LABEL_COLUMNS, read_table

__all__ = ["LABEL_COLUMNS", "read_table"]
from genad.data.timeseries import (Series, asd_entities, load_asd, load_nab, load_smd, nab_series,  # noqa: E402
                                   smd_machines)

__all__ += ["Series", "asd_entities", "load_asd", "load_nab", "load_smd", "nab_series", "smd_machines"]
