"""``genad bench`` (run a grid into a results file) and ``genad report`` (HTML / Markdown from it)."""
from __future__ import annotations

import argparse
import os
import time

from genad.bench.models import DEFAULT_BASELINES
from genad.bench.runner import EXECUTORS


def comma_list(text: str) -> list[str]:
    """The non-empty parts of a comma-separated option (``","`` gives ``[]``; see :func:`require_items`)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def require_items(**options: list | None) -> None:
    """Refuse a comma-separated option that names nothing (``--series ,``), by its option name.

    An empty list must not mean "all" (a whole suite would run) nor reach the run as zero cells.
    ``None`` is an option left out (its default applies) and passes.
    """
    for name, values in options.items():
        if values is not None and len(values) == 0:
            raise ValueError(f"--{name.replace('_', '-')} names nothing (an empty comma-separated list); "
                             "give at least one value or leave the option out; zero cells would run")


def check_positive(**options: int | None) -> None:
    """Refuse a count option below 1 (``--threads -1``), by its option name; ``None`` (left out) passes."""
    from genad.validation import check_int

    for name, value in options.items():
        if value is not None:
            check_int(f"--{name.replace('_', '-')}", value, low=1)


def parse_seeds(text: str) -> list[int]:
    """Comma-separated non-negative integer seeds (``random_state`` refuses negative ones in every cell)."""
    try:
        seeds = [int(part) for part in comma_list(text)]
    except ValueError:
        seeds = [-1]
    if any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated non-negative integers, got {text!r}")
    return seeds


def cmd_bench(args: argparse.Namespace) -> int:
    from genad.bench.datasets import check_labels, resolve_datasets
    from genad.bench.models import expand_model_names, parse_model_spec
    from genad.bench.runner import make_grid, run_bench
    from genad.bench.store import check_results_target

    require_items(seeds=args.seeds, protocols=args.protocols, anomalies=args.anomalies)
    check_positive(jobs=args.jobs, threads=args.threads)
    check_results_target(args.results)
    datasets = resolve_datasets(args.datasets, args.data_dir, args.label_column)
    check_labels(datasets)  # a plain file without its label column would only give failed cells
    try:
        models = [parse_model_spec(text) for text in expand_model_names(args.models)]
    except ImportError as err:  # e.g. pyod:<Name> without the baselines extra
        raise ValueError(str(err)) from None
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    cells = make_grid(datasets, models, args.seeds, args.protocols, args.anomalies, threads=threads)
    print(f"genad bench: {len(datasets)} dataset(s) x {len(models)} model(s) x {len(args.seeds)} seed(s) x "
          f"{len(args.protocols)} protocol(s) x {len(args.anomalies)} anomaly type(s) = {len(cells)} cells "
          f"-> {args.results}")
    start = time.perf_counter()
    counts = run_bench(cells, args.results, executor=args.executor, jobs=args.jobs, scheduler=args.scheduler,
                       retry_failed=not args.keep_failed, progress=not args.quiet)
    print(f"done in {time.perf_counter() - start:.1f} s: {counts['ok']} ok, {counts['failed']} failed, "
          f"{counts['skipped']} already in {args.results}")
    return 1 if counts["failed"] else 0


def cmd_report(args: argparse.Namespace) -> int:
    from genad.bench.report import write_report

    html, markdown = write_report(args.results, args.out, args.markdown, tie=args.tie)
    print(f"wrote {html}" + (f" and {markdown}" if markdown else ""))
    return 0


def cmd_merge_results(args: argparse.Namespace) -> int:
    from genad.bench.store import merge_results

    require_items(seeds=args.seeds)
    counts = merge_results(args.out, args.sources, models=args.models, seeds=args.seeds)
    print(f"wrote {args.out}: {counts['cells']} cells ({counts['duplicates']} held again by a later file, "
          "none with other scores)")
    return 0


def add_executor_arguments(p: argparse.ArgumentParser) -> None:
    """How a bench command runs its cells: ``--executor``, ``--jobs``, ``--scheduler``, ``--keep-failed``,
    ``--quiet`` (the arguments of :func:`genad.bench.runner.run_bench`)."""
    p.add_argument("--executor", choices=EXECUTORS, default="local")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (local) or LocalCluster workers (dask)")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler (with --executor dask)")
    p.add_argument("--keep-failed", action="store_true", help="do not retry cells that failed in an earlier run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_commands(subparsers) -> None:
    """Add ``bench``, ``report`` and ``merge-results`` to the ``genad`` command line."""
    p = subparsers.add_parser(
        "bench", help="run datasets x models x seeds x protocols into a results file (resumable)",
        description="Run the tabular benchmark protocol (DESIGN.md section 5). A re-run with the same "
                    "--results skips finished cells. Models: genad names (see `genad list`) or "
                    f"pyod:<Class>; params after '?', e.g. 'ae?epochs=5'. Baselines: {' '.join(DEFAULT_BASELINES)}.")
    p.add_argument("--datasets", nargs="+", required=True,
                   help="adbench:<name>, adbench:all, adbench-emb:<name>, adbench-emb:all, dev:tabular "
                        "(the development collection for choosing defaults), or .npz/.csv/.parquet files "
                        "with a label column")
    p.add_argument("--models", nargs="+", required=True,
                   help="e.g. ae 'ae?epochs=5' pyod:IForest; genad:all = every tabular genad model, "
                        "pyod:baselines = the PyOD baselines above")
    p.add_argument("--seeds", type=parse_seeds, default=[0, 1, 2], help="comma-separated (default 0,1,2)")
    p.add_argument("--protocols", type=comma_list, default=["unsupervised", "one-class"],
                   help="comma-separated: unsupervised, one-class (default both)")
    p.add_argument("--anomalies", type=comma_list, default=["real"],
                   help="real (default) or synthetic types, comma-separated: local, global, dependency, clustered")
    p.add_argument("--results", default="results/bench.sqlite", help="SQLite results file (created or resumed)")
    p.add_argument("--data-dir", default=None, help="folder with adbench_classical/ (default: $GENAD_DATA, "
                                                    "else ../shared/data)")
    p.add_argument("--label-column", default=None, help="label column of plain data files (default y or label)")
    add_executor_arguments(p)
    p.add_argument("--threads", type=int, default=None, help="torch threads per cell (default: cores / jobs)")
    p.set_defaults(func=cmd_bench)

    p = subparsers.add_parser("report", help="HTML (and Markdown) report of a results file")
    p.add_argument("results", help="a results file written by `genad bench`")
    p.add_argument("--out", default="report.html", help="the single-file HTML report")
    p.add_argument("--markdown", default=None, help="also write the tables as Markdown (for BENCHMARKS.md)")
    p.add_argument("--tie", type=float, default=0.005,
                   help="AUROC difference below which two models tie on a dataset (default 0.005)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser(
        "merge-results", help="gather the cells of results files into a new one (identical duplicates only)",
        description="Write a new results file holding every cell of the given files (runs made into copies, "
                    "one model each, can so be reported together). A cell that two files hold must have the "
                    "same scores, else nothing is written; an ok cell wins over a failed one.")
    p.add_argument("out", help="the new results file (never an existing file)")
    p.add_argument("sources", nargs="+", help="results files written by genad bench, bench-ts or bench-streams")
    p.add_argument("--models", nargs="+", default=None, help="keep only these models' cells")
    p.add_argument("--seeds", type=parse_seeds, default=None, help="keep only these seeds (comma-separated)")
    p.set_defaults(func=cmd_merge_results)
