"""Independent DCT-PLS (Garcia 2010) with numpy + scipy.fft, the oracle of src/models/dctpls.ts.

The same method as documented there: orthonormal DCT-II over the three axes (scipy.fft.dctn),
smoothn's GCV (weighted residual on the observed values) minimised over log10 s in [-3, 6] by the
same 10 golden-section steps, over-relaxation 1.75,
the mean as the first guess, three rounds of bisquare weights.
usage: dctpls_oracle.py Y.npy TIME_WEIGHT ROBUST(0/1) -> JSON {values, s, iterations}
"""
import json
import sys

import numpy as np
from scipy.fft import dctn, idctn

y = np.load(sys.argv[1]).astype(np.float64)
tw = float(sys.argv[2])
robust = sys.argv[3] == "1"
n0, n1, n2 = y.shape
observed = ~np.isnan(y)
w = observed.astype(np.float64)
lam = (
    tw * (2 - 2 * np.cos(np.pi * np.arange(n0) / n0))[:, None, None]
    + (2 - 2 * np.cos(np.pi * np.arange(n1) / n1))[None, :, None]
    + (2 - 2 * np.cos(np.pi * np.arange(n2) / n2))[None, None, :]
)
y0 = np.where(observed, y, 0.0)
z = np.full(y.shape, y[observed].mean())
N = y.size
nobs = observed.sum()


def gcv(p, D, w):
    g = 1 / (1 + 10.0**p * lam**2)
    yhat = idctn(g * D, norm="ortho")
    rss = np.sum((w * (y0 - yhat) ** 2)[observed])
    return rss / nobs / (1 - g.sum() / N) ** 2


def golden(D, w):
    phi = (np.sqrt(5) - 1) / 2
    a, b = -3.0, 6.0
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = gcv(c, D, w), gcv(d, D, w)
    for _ in range(10):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - phi * (b - a)
            fc = gcv(c, D, w)
        else:
            a, c, fc = c, d, fd
            d = a + phi * (b - a)
            fd = gcv(d, D, w)
    return 10.0 ** ((a + b) / 2)


s = 1.0
iterations = 0
for rnd in range(3 if robust else 1):
    change = np.inf
    it = 0
    while it < 100 and change > 1e-3:
        u = np.where(observed, w * (y0 - z) + z, z)
        D = dctn(u, norm="ortho")
        if ((it + 1) & it) == 0:  # smoothn: when the 1-based count is a power of two
            s = golden(D, w)
        znew = idctn(D / (1 + s * lam**2), norm="ortho")
        v = 1.75 * znew + (1 - 1.75) * z
        change = np.sqrt(np.sum((v - z) ** 2) / max(np.sum(v * v), 1e-300))
        z = v
        it += 1
        iterations += 1
    if rnd + 1 < (3 if robust else 1):
        r = (y0 - z)[observed]
        med = np.median(r)
        mad = np.median(np.abs(r - med))
        h = 1.0
        for n in (n0, n1, n2):
            if n > 1:
                h0 = np.sqrt(1 + 16 * s)
                h *= np.sqrt(1 + h0) / np.sqrt(2) / h0
        uu = np.abs((y0 - z) / (1.4826 * mad) / np.sqrt(1 - h)) / 4.685
        if mad > 0:
            w = np.where(observed & (uu < 1), (1 - uu**2) ** 2, 0.0)
        else:
            w = observed.astype(np.float64)
print(json.dumps({"values": np.where(np.isfinite(z), z, 0).ravel().tolist(), "s": s, "iterations": iterations}))
