"""The ``genad`` command line: list, fit, score, restore, explain, sample, demo, and the commands other
modules add.

A module joins the CLI by defining ``add_commands(subparsers)`` and being named in
:data:`COMMAND_MODULES`; each command it adds sets ``func`` to a function of the parsed args.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, Sequence

import numpy as np

import genad
from genad import registry

#: Modules that add their own sub-commands (bench, report, stream, ...).
COMMAND_MODULES: list[str] = ["genad.bench.cli", "genad.bench.timeseries", "genad.bench.streams",
                               "genad.streaming.cli", "genad.synthesis.cli"]


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` for ``--set`` (see :func:`genad.registry.parse_assignment`), with argparse's error type."""
    try:
        return registry.parse_assignment(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def cmd_list(args: argparse.Namespace) -> int:
    rows = [(i.name, i.family, ",".join(i.modalities), ",".join(i.capabilities) or "-",
             f"{i.paper.title} ({i.paper.authors}, {i.paper.venue} {i.paper.year})")
            for i in genad.list_models(modality=args.modality)]
    header = ("model", "family", "modalities", "can", "paper")
    if args.markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(f"`{row[0]}`" if k == 0 else row[k] for k in range(len(row))) + " |")
    else:
        print_table(header, rows)
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from genad.data.io import check_output_file
    from genad.data import read_table

    # the output is checked before training, which may take long, and a model with its data-file name is refused
    check_output_file(args.out, "the model", inputs=[args.data])
    params = dict(args.set or [])
    if "verbose" in genad.get_info(args.model).parameters:  # a progress bar, where the model has one
        params.setdefault("verbose", True)
    X, _ = read_table(args.data, label_column=args.label_column)
    det = genad.create(args.model, **params).fit(X)
    det.save(args.out)
    print(f"fitted {args.model} on {len(det.decision_scores_)} rows x {det.n_features_in_} features; "
          f"threshold {det.threshold_:.6g}; saved to {args.out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    import pandas as pd

    from genad.data.io import check_output_file
    from genad.data import read_table

    check_output_file(args.out, "the scores", inputs=[args.data, args.model])
    det = genad.load(args.model)
    X, _ = read_table(args.data, label_column=args.label_column)
    scores = det.decision_function(X)
    labels = det.threshold_rule_.predict(scores)
    pd.DataFrame({"score": scores, "label": labels}).to_csv(args.out, index_label="row")
    print(f"scored {len(scores)} rows with {det.registry_name}; {int(labels.sum())} flagged; wrote {args.out}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    # where the model changed the data most: the localisation a restoration gives
    return _per_column_output(args, "restore", "the restored data", "restored", "largest mean change",
                              lambda X, restored: np.abs(X - restored).mean(axis=0))


def cmd_explain(args: argparse.Namespace) -> int:
    return _per_column_output(args, "explain", "the contributions", "explained", "largest mean contribution",
                              lambda X, contributions: contributions.mean(axis=0))


def _per_column_output(args: argparse.Namespace, capability: str, what: str, verb: str, summary_name: str,
                       summary) -> int:
    """A saved model's ``restore`` or ``explain`` of a data file, written in the file's columns; prints the
    three columns that ``summary(X, values)`` ranks highest."""
    import pandas as pd

    from genad.data import read_table
    from genad.data.io import check_output_file, check_table_suffix, column_names, write_table

    out = check_table_suffix(check_output_file(args.out, what, inputs=[args.data, args.model]), what)
    det = genad.load(args.model)
    X, _ = read_table(args.data, label_column=args.label_column)
    columns = column_names(X)
    values = getattr(det, capability)(X)
    write_table(pd.DataFrame(values, columns=columns), out)
    per_column = summary(np.asarray(X, dtype=np.float64), np.asarray(values, dtype=np.float64))
    most = ", ".join(f"{columns[i]} ({per_column[i]:.3g})" for i in np.argsort(-per_column)[:3])
    print(f"{verb} {len(values)} rows with {det.registry_name}; wrote {out}; {summary_name}: {most}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import pandas as pd

    from genad.data.io import check_output_file, check_table_suffix, column_names, write_table

    out = check_table_suffix(check_output_file(args.out, "the samples", inputs=[args.model]), "the samples")
    det = genad.load(args.model)
    if args.seed is not None:  # sampling is seeded by the model's random_state
        det.set_params(random_state=args.seed)
    rows = det.sample(args.n)
    names = getattr(det, "feature_names_in_", None)  # the training table's columns, when it had names
    columns = [str(c) for c in names] if names is not None else column_names(rows)
    write_table(pd.DataFrame(rows, columns=columns), out)
    print(f"drew {len(rows)} rows from {det.registry_name}'s model of normal data; wrote {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from genad.demo import run_demo

    run_demo(epochs=args.epochs, seed=args.seed)
    return 0


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned text table."""
    cells = [list(map(str, header))] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.3f}"
    return str(value)


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """``--data`` and ``--label-column``: the file a saved model is applied to."""
    p.add_argument("--data", required=True, help="a .csv (with a header row), .parquet or .npz file")
    p.add_argument("--label-column", default=None,
                   help="a label column to leave out of the features (default: 'y' or 'label' if present)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genad", description="Generative anomaly detection.")
    parser.add_argument("--version", action="version", version=f"genad {genad.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="the registered models, by family")
    p.add_argument("--modality", default=None, help="only models for this modality (e.g. tabular)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("fit", help="fit a model on a data file and save it")
    p.add_argument("--model", required=True, help="registered model name (see `genad list`)")
    p.add_argument("--data", required=True, help=".csv, .parquet or .npz file of training rows")
    p.add_argument("--label-column", default=None, help="column to drop as the label (default: y or label if present)")
    p.add_argument("--set", action="append", type=parse_assignment, metavar="KEY=VALUE",
                   help="a model parameter, repeatable (e.g. --set epochs=20)")
    p.add_argument("--out", required=True, help="where to write the fitted model")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("score", help="score a data file with a saved model")
    p.add_argument("--model", required=True, help="a file written by `genad fit`")
    add_input_arguments(p)
    p.add_argument("--out", required=True, help="CSV with one score and 0/1 label per row")
    p.set_defaults(func=cmd_score)

    for command, purpose, output, func in (
            ("restore", "the plausible normal version of each row", "the restored rows", cmd_restore),
            ("explain", "each row's per-column contributions to its score", "the contributions", cmd_explain)):
        p = sub.add_parser(command, help=f"{purpose} of a data file, by a saved model")
        p.add_argument("--model", required=True, help=f"a file written by `genad fit`, of a model that can "
                                                      f"{command} (the `can` column of `genad list`)")
        add_input_arguments(p)
        p.add_argument("--out", required=True, help=f".csv or .parquet file: {output}, in the input's columns")
        p.set_defaults(func=func)

    p = sub.add_parser("sample", help="draw rows like the normal data from a saved generative model")
    p.add_argument("--model", required=True, help="a file written by `genad fit`, of a model that can sample "
                                                  "(the `can` column of `genad list`)")
    p.add_argument("--n", type=int, required=True, help="how many rows")
    p.add_argument("--seed", type=int, default=None,
                   help="the same seed draws the same rows (default: the model's random_state)")
    p.add_argument("--out", required=True, help=".csv or .parquet file: the rows, in the training data's columns")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("demo", help="every tabular model on scikit-learn's breast-cancer data (one-class split)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override the epochs of every model that has them (default: the model's own)")
    p.add_argument("--seed", type=int, default=0, help="random_state of every model (default 0)")
    p.set_defaults(func=cmd_demo)

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    return parser


#: The optional extra (``pyproject.toml``) that installs each optional dependency.
EXTRAS = {"matplotlib": "bench", "dask": "bench", "distributed": "bench", "pyod": "baselines", "river": "streams",
          "pysad": "streams", "numba": "streams", "pyarrow": "parquet"}


def install_hint(err: ImportError) -> str:
    """The import error, with the ``pip install`` that cures it when an optional extra provides the module."""
    extra = EXTRAS.get((err.name or "").split(".")[0])
    return f"{err}; it comes with an optional extra: pip install 'genad[{extra}]'" if extra else str(err)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    # bad input, missing or unwritable files, non-finite scores and missing extras: one line, no traceback
    except ImportError as err:
        print(f"genad: error: {install_hint(err)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, NotImplementedError, FloatingPointError) as err:
        print(f"genad: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
