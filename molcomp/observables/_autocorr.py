"""Integrated autocorrelation time and effective sample size of scalar series.

Sokal's automatic window: tau = 1 + 2 sum_{t=1}^{W} rho(t), with the smallest W such
that W >= c tau(W) (c = 5). Tests derive their statistical tolerances from these.
"""

from __future__ import annotations

import numpy as np


def autocorrelation(x) -> np.ndarray:
    """Normalised autocorrelation rho(t) of a series (steps,) or (steps, chains),
    averaged over chains (FFT, zero-padded)."""
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(
            f"x must have shape (steps,) or (steps, chains) with steps >= 2, got {x.shape}"
        )
    n = x.shape[0]
    x = x - x.mean(axis=0)
    f = np.fft.rfft(x, n=2 * n, axis=0)
    acf = np.fft.irfft(f * np.conj(f), axis=0)[:n].mean(axis=1)
    if acf[0] <= 0:
        return np.concatenate([[1.0], np.zeros(n - 1)])  # a constant series
    return acf / acf[0]


def integrated_autocorr_time(x, c: float = 5.0) -> float:
    """tau_int in steps (1 for independent samples)."""
    rho = autocorrelation(x)
    taus = 2.0 * np.cumsum(rho) - 1.0
    window = np.arange(len(rho))
    ok = window >= c * taus
    w = int(np.argmax(ok)) if ok.any() else len(rho) - 1
    return float(max(taus[w], 1.0))


def effective_sample_size(x, c: float = 5.0) -> float:
    """(steps * chains) / tau_int for a series (steps,) or (steps, chains)."""
    x = np.asarray(x)
    total = x.size
    return float(total / integrated_autocorr_time(x, c))
