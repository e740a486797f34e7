"""Onsager's exact results for the 2D square-lattice Ising model (infinite lattice)."""

from __future__ import annotations

import math

#: K_c = ln(1 + sqrt 2) / 2, the critical coupling (beta * w) of the square lattice.
CRITICAL_COUPLING = 0.5 * math.log(1.0 + math.sqrt(2.0))


def _elliptic_k(k: float) -> float:
    """Complete elliptic integral of the first kind K(k) via the arithmetic-geometric mean."""
    a, b = 1.0, math.sqrt(1.0 - k * k)
    while abs(a - b) > 1e-15 * a:
        a, b = 0.5 * (a + b), math.sqrt(a * b)
    return math.pi / (2.0 * a)


def ising_energy_per_site(coupling: float) -> float:
    """<E>/N in kT for E = -K sum_<ij> s_i s_j (two bonds per site), any K > 0.

    u = -K coth(2K) [1 + (2/pi) (2 tanh^2(2K) - 1) K1(kappa)],
    kappa = 2 sinh(2K) / cosh^2(2K).
    """
    K = float(coupling)
    if not K > 0:
        raise ValueError(f"coupling must be > 0, got {coupling}")
    kappa = 2.0 * math.sinh(2 * K) / math.cosh(2 * K) ** 2
    t = math.tanh(2 * K)
    if kappa >= 1.0 - 1e-12:  # at K_c the log-divergent K1 multiplies an exact zero
        return -K / t
    return -K / t * (1.0 + (2.0 / math.pi) * (2.0 * t * t - 1.0) * _elliptic_k(kappa))
