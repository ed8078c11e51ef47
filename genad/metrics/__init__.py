"""Metrics: point AUROC/AUPRC, and the time-series metrics the field now trusts.

VUS-ROC / VUS-PR (Paparrizos et al., VLDB 2022), range-based precision/recall/F1 (Tatbul et al.,
NeurIPS 2018), best F1, and point-adjusted F1, which is optimistic and reported only beside VUS-PR;
and HitRate@P% / NDCG@P% of per-channel explanations against labelled channels (Su et al., KDD 2019),
step-wise or per labelled segment (InterFusion's IPS, Li et al., KDD 2021).
"""
from genad.metrics.f1 import best_f1, point_adjust, point_adjusted_f1
from genad.metrics.interpretation import interpretation_performance_score, interpretation_scores, random_hit_rate
from genad.metrics.point import auprc, auroc
from genad.metrics.range_based import range_precision_recall_f1
from genad.metrics.ranges import ranges
from genad.metrics.vus import range_auc, vus

__all__ = ["auprc", "auroc", "best_f1", "interpretation_performance_score", "interpretation_scores", "point_adjust",
           "point_adjusted_f1", "random_hit_rate", "range_auc", "range_precision_recall_f1", "ranges", "vus"]
