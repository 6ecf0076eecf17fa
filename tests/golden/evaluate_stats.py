#!/usr/bin/python3
"""Golden values for metrics.c's inference helpers (test_metrics.c): the
paired t-test of scipy.stats.ttest_rel, Holm's adjustment written out by
hand from its definition, and NDCG as the RecSys Challenge 2018 organisers'
tool defines it (discount 1/log2(i+1) over the deduplicated list, ideal over
min(|G|, k)), written here from that definition.

Run: /usr/bin/python3 tests/golden/evaluate_stats.py > tests/golden/evaluate_stats.txt
"""
import math

import numpy as np
from scipy import stats


def series(n, mul, add, mod):
    # The same integer recipe test_metrics.c uses, so no data file is needed.
    return np.array([((i * mul + add) % mod) / 100.0 for i in range(n)])


def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adj = [0.0] * m
    run = 0.0
    for j, i in enumerate(order):
        run = max(run, min(1.0, (m - j) * p[i]))
        adj[i] = run
    return adj


def ndcg_organisers(truth, rec, k):
    seen, lst = set(), []
    for r in rec[:k]:
        if r not in seen:
            seen.add(r)
            lst.append(r)
    g = set(truth)
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(lst) if r in g)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(g), k)))
    return dcg / idcg


print("# paired t-test: a_i = ((37 i + 3) % 101) / 100, b_i = ((53 i + 7) % 97) / 100")
for n in (2, 5, 30, 200):
    a, b = series(n, 37, 3, 101), series(n, 53, 7, 97)
    t, p = stats.ttest_rel(a, b)
    print(f"ttest n={n} mean={np.mean(a - b):.17g} t={t:.17g} p={p:.17g}")
p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04]
print("holm p=" + ",".join(f"{x:g}" for x in p) + " adj=" + ",".join(f"{x:.17g}" for x in holm(p)))
print("ndcg truth=[1,2,3] rec=[1,9,2,9,8] k=500 ->", f"{ndcg_organisers([1, 2, 3], [1, 9, 2, 9, 8], 500):.17g}")
print("ndcg truth=[1,2,3] rec=[9,1,2,3] k=2 ->", f"{ndcg_organisers([1, 2, 3], [9, 1, 2, 3], 2):.17g}")
print("ndcg truth=[4] rec=[5,6,4] k=500 ->", f"{ndcg_organisers([4], [5, 6, 4], 500):.17g}")
