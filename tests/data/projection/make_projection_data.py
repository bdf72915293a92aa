#!/usr/bin/python3
"""Makes the fixed inputs and numpy/sklearn expected values of tests/projection_test.cpp.
Run once with Debian python3-numpy and python3-sklearn (they are under /usr/bin/python3,
not a pyenv python); the outputs are committed so the tests need neither at run time:
  /usr/bin/python3 tests/data/projection/make_projection_data.py
"""
import os
import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.preprocessing import StandardScaler

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240601)

# 3 Gaussian clusters in 12 dims, features on different scales (so STD-PCA != PCA).
n_per, dims = 30, 12
centres = rng.normal(0, 4, size=(3, dims))
x = np.concatenate([c + rng.normal(0, 1, size=(n_per, dims)) for c in centres])
x *= np.linspace(0.2, 5.0, dims)
x += 10.0  # a non-zero mean the PCA must remove
x = x.astype(np.float32)


def sign_normalise(components):
    # tagscape's rule (projection/pca.h): largest |loading| positive, first index on ties.
    for c in components:
        if c[np.argmax(np.abs(c))] < 0:
            c *= -1
    return components


def pca(data, out_dims):
    data = data.astype(np.float64)
    cov = np.cov(data, rowvar=False)  # ddof 1
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][:out_dims]
    comps = sign_normalise(vectors[:, order].T.copy())
    coords = (data - data.mean(axis=0)) @ comps.T
    return coords, values[order], values[order] / values.sum()


coords, variance, ratio = pca(x, 3)
z = StandardScaler().fit_transform(x.astype(np.float64))  # ddof 0, as tagscape STD-PCA
std_coords, std_variance, std_ratio = pca(z, 3)

# Cross-check with sklearn's PCA (signs may differ per component).
for data, ours, var in ((x.astype(np.float64), coords, variance), (z, std_coords, std_variance)):
    skl = PCA(n_components=3).fit(data)
    assert np.allclose(np.abs(skl.transform(data)), np.abs(ours), atol=1e-8)
    assert np.allclose(skl.explained_variance_, var)

# A layout that is good but not perfect: the first 2 PCs plus noise.
low = (coords[:, :2] + rng.normal(0, 1.5, size=(len(x), 2))).astype(np.float32)

np.save(os.path.join(here, "x.npy"), x)
np.save(os.path.join(here, "pca_coords.npy"), coords.astype(np.float32))
np.save(os.path.join(here, "pca_variance.npy"), variance.astype(np.float32))
np.save(os.path.join(here, "pca_ratio.npy"), ratio.astype(np.float32))
np.save(os.path.join(here, "std_pca_coords.npy"), std_coords.astype(np.float32))
np.save(os.path.join(here, "std_pca_variance.npy"), std_variance.astype(np.float32))
np.save(os.path.join(here, "low.npy"), low)
with open(os.path.join(here, "trustworthiness.txt"), "w") as out:
    out.write("# k trustworthiness(x, low, k) trustworthiness(low, x, k)  [sklearn, float64 repr]\n")
    for k in (1, 5, 10, 20):
        t = trustworthiness(x, low, n_neighbors=k)
        c = trustworthiness(low, x, n_neighbors=k)
        out.write(f"{k} {t!r} {c!r}\n")
print("wrote", here)
