"""Table of the density, adversarial and diffusion models beside the PyOD baselines, for one protocol.

Usage: python benchmarks/beyond_ae_table.py RESULTS.sqlite SEEDS [PROTOCOL]
       (e.g. results/adbench.sqlite 0,1,2 one-class; PROTOCOL defaults to one-class)
Means per dataset over the seeds every listed genad model finished, then over datasets, as `genad report` does.
"""
import sqlite3
import sys

import pandas as pd

c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
protocol = sys.argv[3] if len(sys.argv) > 3 else "one-class"
df = pd.read_sql("select * from cells where protocol = ? and status = 'ok' and anomalies = 'real'", c, params=(protocol,))
seeds=[int(s) for s in sys.argv[2].split(',')]
df=df[df.seed.isin(seeds)]
i5=["realnvp","maf","made","dsebm","beta_vae","iwae","dte","dte?kind=nonparametric","ddpm_recon","anogan","f_anogan","ganomaly","adae"]
base=["pyod:IForest","pyod:ECOD","pyod:KNN","pyod:PCA","pyod:AutoEncoder","pyod:VAE"]
d=df[df.model.isin(i5+base)]
# keep only (dataset, seed) pairs that every issue-5 model finished
done=d[d.model.isin(i5)].groupby(["dataset","seed"]).model.nunique()
pairs=set(done[done==len(i5)].index)
d=d[[ (a,b) in pairs for a,b in zip(d.dataset,d.seed)]]
auroc=d.groupby(["model","dataset"]).auroc.mean().groupby("model").mean()
auprc=d.groupby(["model","dataset"]).auprc.mean().groupby("model").mean()
n=d.groupby("model").dataset.nunique()
secs=(d.fit_seconds+d.score_seconds).groupby(d.model).sum()
t=pd.DataFrame({"datasets":n,"mean AUROC":auroc.round(3),"mean AUPRC":auprc.round(3),"fit+score s":secs.round(1)}).sort_values("mean AUROC",ascending=False)
print(f"seeds {sorted({b for a,b in pairs})}, {len({a for a,b in pairs})} datasets, {protocol}\n")
print("| model | datasets | mean AUROC | mean AUPRC | fit+score s |\n|---|---|---|---|---|")
for m,r in t.iterrows(): print(f"| {m} | {int(r.datasets)} | {r['mean AUROC']:.3f} | {r['mean AUPRC']:.3f} | {r['fit+score s']:.1f} |")
print()
print("dte nonparametric / pyod:KNN seconds:", round(secs["dte?kind=nonparametric"]/secs["pyod:KNN"],2))
bi=auroc[i5].idxmax(); bp=auroc[base].idxmax()
print(f"best issue-5 model {bi} {auroc[bi]:.4f} vs best PyOD {bp} {auroc[bp]:.4f}: {auroc[bi]-auroc[bp]:+.4f}")
