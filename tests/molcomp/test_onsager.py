"""Onsager's exact 2D Ising energy, the large-lattice reference of the sampler tests."""

import math

import pytest

from molcomp import exact


def test_limits():
    # High temperature: <s_i s_j> -> tanh K, so u -> -2K tanh K (+ O(K^4));
    # low temperature: the ground state, u -> -2K (two bonds per site).
    assert exact.ising_energy_per_site(0.01) == pytest.approx(-2 * 0.01 * math.tanh(0.01), rel=1e-3)
    assert exact.ising_energy_per_site(3.0) == pytest.approx(-6.0, rel=1e-6)


def test_critical_point():
    # At K_c = ln(1 + sqrt 2) / 2 the energy is -sqrt(2) K_c, and continuous around it.
    Kc = exact.ISING_CRITICAL_COUPLING
    assert Kc == pytest.approx(0.4406867935, rel=1e-9)
    assert exact.ising_energy_per_site(Kc) == pytest.approx(-math.sqrt(2) * Kc, rel=1e-12)
    for eps in (1e-4, -1e-4):
        assert exact.ising_energy_per_site(Kc + eps) == pytest.approx(-math.sqrt(2) * Kc, abs=3e-3)


def test_rejects_non_positive_coupling():
    with pytest.raises(ValueError, match="coupling"):
        exact.ising_energy_per_site(0.0)
