"""Langevin dynamics: `molcomp.sample` (chains batched, list rebuilds, overflow
recovery) equals jax-md's nvt_langevin with all-pairs forces, equipartition in a
harmonic trap, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax_md import simulate

import molcomp
from molcomp import particles
from molcomp.particles import Langevin, ParticleMixture


@pytest.fixture(scope="module")
def sticky():
    """64 attracting particles, 2 species, started on a grid (a relaxed state)."""
    m = ParticleMixture(np.array([[3.0, 1.0], [1.0, 0.0]]), np.arange(64) % 2, (12.0, 12.0))
    return m, particles.lattice_positions(m)


def test_sample_equals_jax_md_nvt_langevin_through_rebuilds_and_overflow(sticky):
    # Reference: jax-md's own BAOAB step with all-pairs forces (no list at all, so no
    # capacity to overflow), stepped with the keys `sample` uses (one per step, split
    # per chain). Ours: 2 chains (one batched state) on a list with no headroom and a
    # thin skin, so it rebuilds and overflows; `sample` reallocates and redoes the
    # chunk. Same trajectory: float32, only summation order differs, 100 steps: 1e-4.
    m, x = sticky
    steps, dt, gamma, mass = 100, 0.01, 0.5, 1.5
    s = Langevin(dt=dt, gamma=gamma, mass=mass, dr_threshold=0.2, capacity_multiplier=1.0)
    xs = jnp.stack([x, jnp.mod(x + 0.3, 12.0)])
    state = s.init(m, xs, key=jax.random.key(1))
    key = jax.random.key(2)
    out = molcomp.sample(key, m, s, state, steps)
    rebuilds = float(out.info.rebuilt[0]) * steps
    assert out.recoveries >= 1 and rebuilds >= 2  # both paths are exercised
    assert out.info.rebuilt.shape == (2,) and float(out.info.acceptance[0]) == 1.0

    _, shift = m.space()
    _, apply_fn = simulate.nvt_langevin(lambda r, **_: m.force(r), shift, dt, 1.0, gamma=gamma)
    step = jax.jit(jax.vmap(lambda st, k: apply_fn(st.set(rng=k))))
    force = jax.jit(jax.vmap(m.force))(xs)
    ref = simulate.NVTLangevinState(xs, state.momentum, force, jnp.full(2, mass), None)
    for k in jax.random.split(key, steps):
        ref = step(ref, jax.random.split(k, 2))
    np.testing.assert_allclose(out.state.position, ref.position, atol=1e-4)
    np.testing.assert_allclose(out.state.momentum, ref.momentum, atol=1e-4)
    np.testing.assert_allclose(out.state.force, ref.force, atol=1e-3)


class Trapped(ParticleMixture):
    """Ideal particles, each in a harmonic trap k/2 |x_i - a_i|^2 around its own grid
    point a_i (k = 4)."""

    def energy(self, positions, neighbors=None):
        displacement, _ = self.space()
        d = jax.vmap(displacement)(positions, particles.lattice_positions(self))
        return super().energy(positions, neighbors) + 2.0 * jnp.sum(d**2)


def test_harmonic_trap_equipartition(getkey):
    # BAOAB in a harmonic well: <x^2> = kT / k exactly at any stable dt, and
    # <v^2> = (kT / m) (1 - omega^2 dt^2 / 4) after the final kick (0.06 % here).
    # m = 2, k = 4, gamma = 1 (underdamped: omega = 1.41 > gamma / 2). 64 particles x 2
    # coordinates x 30 samples spaced by 4 time units (amplitude correlation e^-2, so
    # squares correlate by < 2 %): 3840 samples, relative standard error of a variance
    # sqrt(2 / 3840) = 2.3 %. Tolerance 8 % (> 3 standard errors), while using m = 1 or
    # k = 1 anywhere is off by >= 50 %.
    k, m, gamma, dt = 4.0, 2.0, 1.0, 0.05
    model = Trapped(np.zeros((1, 1)), np.zeros(64, int), (16.0, 16.0), core=1e-6)
    x0 = particles.lattice_positions(model)
    s = Langevin(dt=dt, gamma=gamma, mass=m, dr_threshold=1.0)
    # burn-in and sampling share one compiled chunk (same length)
    state = molcomp.sample(getkey(), model, s, s.init(model, x0, key=getkey()), 240, chunk=80)
    state = state.state
    displacement, _ = model.space()
    xs, vs = [], []
    for _ in range(30):
        state = molcomp.sample(getkey(), model, s, state, 80, chunk=80).state
        xs.append(jax.vmap(displacement)(state.position, x0))
        vs.append(state.momentum / m)
    x_var, v_var = float(jnp.mean(jnp.stack(xs) ** 2)), float(jnp.mean(jnp.stack(vs) ** 2))
    assert abs(x_var * k - 1) < 0.08, x_var
    v_expected = (1 / m) * (1 - (k / m) * dt**2 / 4)
    assert abs(v_var / v_expected - 1) < 0.08, (v_var, v_expected)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dt=0.0), "dt must be > 0"),
        (dict(dt=-1e-3), "dt must be > 0"),
        (dict(dt=1e-3, gamma=0.0), "gamma must be > 0"),
        (dict(dt=1e-3, mass=-1.0), "mass must be > 0"),
        (dict(dt=1e-3, mass=float("nan")), "mass must be finite"),
    ],
)
def test_bad_sampler(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Langevin(**kwargs)


def test_time_step_beyond_the_stability_limit_is_rejected(sticky):
    # Velocity Verlet is stable for omega dt < 2; a pair's separation has
    # omega^2 = k / (m / 2), k = max(core / sigma^2, 2 alpha^2 max D) = 96 here.
    m, x = sticky
    limit = float(np.sqrt(2 * 1.5 / 96))
    assert Langevin(dt=1e-3, mass=1.5).stable_dt(m) == pytest.approx(limit)
    Langevin(dt=0.97 * limit, mass=1.5).init(m, x)
    with pytest.raises(ValueError, match="is too large for this model"):
        Langevin(dt=1.03 * limit, mass=1.5).init(m, x)


def test_bad_init(sticky):
    m, x = sticky
    s = Langevin(dt=1e-3)
    with pytest.raises(TypeError, match="key must be a jax.random key"):
        s.init(m, x, key=0)
    with pytest.raises(ValueError, match="particles 2 and 5 are 0 apart"):
        s.init(m, x.at[5].set(x[2]), key=jax.random.key(0))
    with pytest.raises(ValueError, match="momenta must have shape"):
        s.init(m, x, momenta=jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="either key"):
        s.init(m, x, key=jax.random.key(0), momenta=jnp.zeros_like(x))
    with pytest.raises(ValueError, match="positions must be finite"):
        s.init(m, x.at[3, 0].set(jnp.nan))
    with pytest.raises(TypeError, match="sampler must be a molcomp sampler"):
        molcomp.sample(jax.random.key(0), m, object(), None, 10)
    brownian = particles.Brownian(dt=1e-3).init(m, x)
    with pytest.raises(TypeError, match="state must be a LangevinState"):
        molcomp.sample(jax.random.key(0), m, s, brownian, 10)
