"""The area under the ROC curve and its interval, from labels and scores (no I/O).

>>> import numpy as np
>>> rank_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))  # 3 of 4 pairs ranked right, by hand
0.75
"""

from __future__ import annotations

import math

import numpy as np

from engagement.stats.intervals import normal_quantile


def rank_auc(observed: np.ndarray, predicted: np.ndarray) -> float:
    """AUC as the Mann-Whitney statistic: the share of (positive, negative) pairs the prediction ranks right, ties
    counting a half (the value of scikit-learn's ``roc_auc_score``)."""
    from scipy.stats import rankdata

    positive = observed == 1
    positives = int(positive.sum())
    negatives = len(observed) - positives
    return float((rankdata(predicted)[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def hanley_mcneil_interval(auc: float, positives: int, negatives: int, confidence: float = 0.95) -> tuple[float, float]:
    """Normal-approximation CI for an AUC (Hanley & McNeil 1982, Radiology 143, eq. 2)."""
    if positives < 1 or negatives < 1:
        return (math.nan, math.nan)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (
        positives * negatives)
    z = normal_quantile(0.5 + confidence / 2)
    half_width = z * math.sqrt(max(variance, 0.0))
    return (max(0.0, auc - half_width), min(1.0, auc + half_width))
