"""Each model's explanation against the z-score ranking on the steps that model detects, paired over series.

Usage: python benchmarks/detected_steps_pairs.py RESULTS.sqlite

`genad report-ts` compares only the model with the best absolute figure with the z-score ranking on its steps.
Which steps count depends on the model, so the absolute figures of two models are not on the same steps; the
difference to the z-score ranking on each model's own steps is. One line per metric (HitRate@100%, OmniAnomaly's
step-wise protocol; IPS@100%, InterFusion's segment-wise one) and model: the two means over series (seeds
averaged first), their difference with a bootstrap interval over series, and on how many series the model leads.
"""
import sys

from genad.bench.stats import interval_text
from genad.bench.timeseries import results_frame

LABELS = {"hit": "HitRate@100%", "ips": "IPS@100%"}


def main(path: str) -> None:
    cells = results_frame(path)
    cells = cells[cells.status == "ok"]
    for metric, label in LABELS.items():
        columns = [f"{metric}_detected@100", f"{metric}_detected_by_deviation@100"]
        per_series = cells.groupby(["model", "dataset"])[columns].mean().dropna()
        for model, rows in per_series.groupby(level="model"):
            table = rows.droplevel("model").set_axis([model, "z-score"], axis=1)
            ours, reference = table[model].mean(), table["z-score"].mean()
            print(f"{label} {model}: {ours:.3f} vs z-score {reference:.3f} on its steps, {ours - reference:+.3f} "
                  f"{interval_text(table, model, 'z-score', 'series')}; ahead on "
                  f"{int((table[model] > table['z-score']).sum())} of {len(table)}")


if __name__ == "__main__":
    main(sys.argv[1])
