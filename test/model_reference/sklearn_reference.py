#!/usr/bin/python3
"""scikit-learn's LogisticRegression on the leads lead_gen trained on.

Reads a CSV (lead_id, holdout, label, lead_gen's prediction, then one column
per feature) and a list of which features are numbers; one-hot encodes the
categorical ones (a missing value is a category of its own), standardises
the numbers by the training rows (a missing number is the mean plus an
indicator), fits LogisticRegression(C=1) on the training rows and measures
both models on the holdout with scikit-learn's own metrics.  Prints JSON.
"""
import csv
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score


def main(path, numeric_flags):
    numeric = [flag == 't' for flag in numeric_flags.split(',')]
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    nfeat = len(header) - 4
    assert nfeat == len(numeric), (header, numeric)
    holdout = np.array([r[1] == 't' for r in rows])
    label = np.array([1 if r[2] == 't' else 0 for r in rows])
    ours = np.array([float(r[3]) for r in rows])
    train = ~holdout

    columns = []
    for j in range(nfeat):
        values = [r[4 + j] for r in rows]
        if numeric[j]:
            missing = np.array([v == '' for v in values])
            x = np.array([float(v) if v != '' else np.nan for v in values])
            known = train & ~missing
            mean, sd = x[known].mean(), x[known].std()
            z = np.where(missing, 0.0, (x - mean) / (sd if sd > 0 else 1.0))
            columns.append(z)
            if missing[train].any():
                columns.append(missing.astype(float))
        else:
            categories = sorted(set(v for v, t in zip(values, train) if t))
            for c in categories:
                columns.append(np.array([1.0 if v == c else 0.0 for v in values]))
    X = np.column_stack(columns)

    model = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10)
    model.fit(X[train], label[train])
    theirs = model.predict_proba(X[holdout])[:, 1]
    y = label[holdout]
    print(json.dumps({
        'holdout': int(holdout.sum()),
        'train': int(train.sum()),
        'sklearn_auc': roc_auc_score(y, theirs),
        'sklearn_brier': brier_score_loss(y, theirs),
        'sklearn_log_loss': log_loss(y, theirs),
        'lead_gen_auc': roc_auc_score(y, ours[holdout]),
        'lead_gen_brier': brier_score_loss(y, ours[holdout]),
        'lead_gen_log_loss': log_loss(y, ours[holdout]),
        'max_prediction_difference': float(np.max(np.abs(theirs - ours[holdout]))),
    }))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
