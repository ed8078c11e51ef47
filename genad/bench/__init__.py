"""The benchmark: datasets x models x seeds x protocols, a resumable result store, executors and a report.

>>> from genad.bench import resolve_datasets, parse_model_spec, make_grid, run_bench   # doctest: +SKIP
>>> cells = make_grid(resolve_datasets(["adbench:cardio"]), [parse_model_spec("ae")], [0], ["one-class"])
>>> run_bench(cells, "results/cardio.sqlite")                                           # doctest: +SKIP
"""
from genad.bench.datasets import DatasetRef, load_dataset, resolve_datasets
from genad.bench.models import ModelSpec, build_model, parse_model_spec
from genad.bench.protocol import PROTOCOLS, Split, cap_rows, make_split
from genad.bench.runner import Cell, make_grid, run_bench, run_cell, run_dask, run_local
from genad.bench.store import ResultStore, merge_results

__all__ = ["PROTOCOLS", "Cell", "DatasetRef", "ModelSpec", "ResultStore", "Split", "build_model", "cap_rows",
           "load_dataset", "make_grid", "make_split", "merge_results", "parse_model_spec", "resolve_datasets",
           "run_bench", "run_cell", "run_dask", "run_local"]
