"""Autocorrelation time and effective sample size against processes with known answers."""

import numpy as np
import pytest

from molcomp import observables


def ar1(rng, phi, steps, chains):
    """x_t = phi x_{t-1} + noise, started in its stationary distribution."""
    x = np.empty((steps, chains))
    x[0] = rng.normal(size=chains) / np.sqrt(1 - phi**2)
    noise = rng.normal(size=(steps, chains))
    for t in range(1, steps):
        x[t] = phi * x[t - 1] + noise[t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.8])
def test_ar1_autocorrelation_time(phi):
    # tau_int = (1 + phi) / (1 - phi). The estimator's relative standard deviation is
    # about sqrt(2 (2W + 1) / N) with window W ~ 5 tau and N = 3.2e5 samples, i.e.
    # below 3 %; 10 % is more than 3 standard deviations.
    x = ar1(np.random.default_rng(int(10 * phi)), phi, 5000, 64)
    tau = (1 + phi) / (1 - phi)
    assert observables.integrated_autocorr_time(x) == pytest.approx(tau, rel=0.1)
    assert observables.effective_sample_size(x) == pytest.approx(x.size / tau, rel=0.1)
    rho = observables.autocorrelation(x)
    assert rho[0] == pytest.approx(1.0)
    np.testing.assert_allclose(rho[1:4], phi ** np.arange(1, 4), atol=0.02)


def test_single_series_and_chains_agree():
    x = ar1(np.random.default_rng(1), 0.6, 20000, 1)
    assert observables.integrated_autocorr_time(x[:, 0]) == observables.integrated_autocorr_time(x)


def test_constant_series_is_not_nan():
    assert observables.integrated_autocorr_time(np.ones((100, 3))) == 1.0
    assert observables.effective_sample_size(np.ones(50)) == 50.0


def test_slow_series_has_small_ess():
    # A series that never decorrelates within the run: the ESS collapses.
    x = ar1(np.random.default_rng(2), 0.999, 2000, 4)
    assert observables.effective_sample_size(x) < 0.05 * x.size


@pytest.mark.parametrize("bad", [np.zeros(1), np.zeros((2, 2, 2))])
def test_bad_shapes(bad):
    with pytest.raises(ValueError, match="x must have shape"):
        observables.integrated_autocorr_time(bad)
