"""Data in: tables from files, and (in later modules) loaders for standard benchmark formats."""
from genad.data.io import LABEL_COLUMNS, read_table

__all__ = ["LABEL_COLUMNS", "read_table"]
