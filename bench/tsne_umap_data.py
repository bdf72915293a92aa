"""Clustered synthetic 200-d data for bench/tsne-umap-bench: 20 Gaussian clusters with
varied spreads (0.5..2) and sizes, centres N(0, 4^2) per coordinate, float32, seed 7.
Usage: tsne_umap_data.py OUT.npy ROWS"""
import sys

import numpy as np

out, rows = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
clusters, dims = 20, 200
centres = rng.normal(0, 4, size=(clusters, dims)).astype(np.float32)
scales = np.linspace(0.5, 2.0, clusters).astype(np.float32)
sizes = rng.dirichlet(np.full(clusters, 5.0))
labels = rng.choice(clusters, size=rows, p=sizes)
x = np.empty((rows, dims), dtype=np.float32)
for start in range(0, rows, 100_000):  # in chunks: bounded temporary memory at 1M rows
    part = labels[start:start + 100_000]
    x[start:start + len(part)] = centres[part] + rng.standard_normal((len(part), dims), dtype=np.float32) * scales[part, None]
np.save(out, x)
np.save(out.replace(".npy", "-labels.npy"), labels.astype(np.float32))
