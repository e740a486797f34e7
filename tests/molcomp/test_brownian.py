"""Brownian dynamics through `molcomp.sample`: free diffusion constant, equipartition in
a harmonic trap, overflow recovery equal to a large-buffer run (bit for bit at the same
final capacity), vmap == loop, and bad input: a time step beyond the stability limit,
coincident start positions."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import particles
from molcomp.particles import Brownian, ParticleMixture


def _free(n, dim, side):
    # depth 0 and a negligible core: ideal Brownian particles
    return ParticleMixture(np.zeros((1, 1)), np.zeros(n, int), (side,) * dim, core=1e-6)


@pytest.mark.parametrize("dim", [2, 3])
def test_free_diffusion_constant(dim, getkey):
    # <dx^2> = 2 D t per coordinate with D = kT / gamma = 1 / gamma. 2 chains x 256
    # particles x dim coordinates: the variance estimate has relative standard error
    # sqrt(2 / (512 dim)) <= 6.3 %; 20 % is > 3 standard errors, while a wrong factor
    # in the noise or friction (sqrt 2, 2) is off by >= 40 %.
    gamma, dt, steps = 2.0, 0.01, 50
    m = _free(256, dim, 9.0 if dim == 3 else 16.0)
    x0 = jax.random.uniform(getkey(), (2, 256, dim)) * 8.0
    s = Brownian(dt=dt, gamma=gamma, dr_threshold=1.0)
    out = molcomp.sample(getkey(), m, s, s.init(m, x0), steps)
    displacement, _ = m.space()
    d = jax.vmap(jax.vmap(displacement))(out.state.position, x0)
    var = float(jnp.mean(d**2))
    expected = 2 * dt * steps / gamma
    assert abs(var / expected - 1) < 0.2, (var, expected)
    assert out.recoveries == 0


class Trapped(ParticleMixture):
    """A test model: ideal particles, each in a harmonic trap k/2 |x_i - a_i|^2 around
    its own grid point a_i (k = 4)."""

    def energy(self, positions, neighbors=None):
        displacement, _ = self.space()
        d = jax.vmap(displacement)(positions, particles.lattice_positions(self))
        return super().energy(positions, neighbors) + 2.0 * jnp.sum(d**2)


def _positions(model, x):
    return x


def test_harmonic_trap_equipartition(getkey):
    # Euler-Maruyama of dx = -k x dt/gamma + sqrt(2 dt/gamma) xi has stationary
    # variance 1 / (k (1 - k dt / (2 gamma))) per coordinate (equipartition 1/k plus its
    # known O(dt) bias, 2 % here). 64 particles x 2 coordinates x 30 samples spaced by
    # 2 relaxation times (correlation e^-2) give ~3800 samples: relative standard error
    # ~ 2.5 %; tolerance 9 %, while a wrong noise or force scale is off by >= 40 %.
    k, dt, gamma = 4.0, 0.02, 1.0
    m = Trapped(np.zeros((1, 1)), np.zeros(64, int), (16.0, 16.0), core=1e-6)
    x0 = particles.lattice_positions(m)
    s = Brownian(dt=dt, gamma=gamma, dr_threshold=1.0)
    # burn-in and sampling share one compiled chunk (same length and trace_fn)
    trace = _positions
    state = molcomp.sample(getkey(), m, s, s.init(m, x0), 100, chunk=50, trace_fn=trace).state
    out = molcomp.sample(getkey(), m, s, state, 750, chunk=50, trace_fn=trace)
    displacement, _ = m.space()
    d = jax.vmap(jax.vmap(displacement, (0, 0)), (0, None))(out.trace[24::25], x0)
    expected = 1.0 / (k * (1 - k * dt / (2 * gamma)))
    assert abs(float(jnp.var(d)) / expected - 1) < 0.09, (float(jnp.var(d)), expected)


@pytest.fixture(scope="module")
def sticky():
    """64 attracting particles, 2 species, started on a grid (a relaxed state)."""
    m = ParticleMixture(np.array([[3.0, 1.0], [1.0, 0.0]]), np.arange(64) % 2, (12.0, 12.0))
    return m, particles.lattice_positions(m)


def test_overflow_recovery_matches_large_buffer(sticky):
    m, x = sticky
    tight = Brownian(dt=1e-3, capacity_multiplier=1.0)
    small = tight.init(m, x)
    key = jax.random.key(7)
    out = molcomp.sample(key, m, tight, small, 300, chunk=100)
    assert out.recoveries >= 1  # the test exercises the recovery
    assert float(out.info.overflow) == 0.0  # recovered chunks never froze
    roomy = tight.init(m, x, extra_capacity=40)
    ref = molcomp.sample(key, m, tight, roomy, 300, chunk=100)
    assert ref.recoveries == 0
    # Same keys and forces; only the summation order over neighbours differs (float32,
    # 300 steps): positions agree far below the noise amplitude sqrt(2 dt) = 0.045.
    np.testing.assert_allclose(out.state.position, ref.state.position, atol=1e-4)

    # Stepped by hand, an overflowing list freezes the chain and says so.
    step = eqx.filter_jit(tight.step)
    state, overflowed = small, False
    for i in range(300):
        new, info = step(jax.random.key(i), m, state)
        assert isinstance(info, particles.ParticleInfo)
        if bool(info.overflow):
            np.testing.assert_array_equal(new.position, state.position)
            assert int(new.steps) == int(state.steps) == i  # a frozen step is not counted
            overflowed = True
            break
        state = new
    assert overflowed


def test_recovered_run_is_bit_identical_at_the_final_capacity(sticky, monkeypatch):
    # The neighbour-list docs (`molcomp.particles._base`): a run whose list overflowed
    # in a later chunk and was reallocated there equals, bit for bit, a run allocated
    # from the start at the capacity it ended with (only the summation order of a
    # force row could differ, and it depends on the row's width).
    m, x = sticky
    tight = Brownian(dt=1e-3, capacity_multiplier=1.0)
    recovered_at = []
    recover = Brownian.recover

    def spy(self, model, start, end, attempt):
        repaired = recover(self, model, start, end, attempt)
        if repaired is not None:
            recovered_at.append(int(start.steps))
        return repaired

    monkeypatch.setattr(Brownian, "recover", spy)
    small = tight.init(m, x)
    key = jax.random.key(7)
    out = molcomp.sample(key, m, tight, small, 300, chunk=10)
    assert recovered_at and recovered_at[0] > 0  # the overflow came after the first chunk
    final = out.state.neighbors.max_occupancy
    same = tight.init(m, x, extra_capacity=final - small.neighbors.max_occupancy)
    assert same.neighbors.max_occupancy == final
    ref = molcomp.sample(key, m, tight, same, 300, chunk=10)
    assert ref.recoveries == 0
    np.testing.assert_array_equal(out.state.position, ref.state.position)


def test_time_step_beyond_the_stability_limit_is_rejected(sticky):
    # Euler-Maruyama on a pair's separation in a mode of curvature k is stable only for
    # dt < gamma / k; k = max(core / sigma^2, 2 alpha^2 max D) = max(50, 32 * 3) = 96.
    m, x = sticky
    assert Brownian(dt=1e-3, gamma=2.0).stable_dt(m) == pytest.approx(2.0 / 96)
    Brownian(dt=0.02, gamma=2.0).init(m, x)  # just below
    with pytest.raises(ValueError, match=r"dt=0.022 is too large for this model.*dt < 0.02083"):
        Brownian(dt=0.022, gamma=2.0).init(m, x)
    # `sample` checks the model it is given: deeper wells make the same dt unstable
    s = Brownian(dt=0.008)
    state = s.init(m, x)
    deeper = ParticleMixture(4 * m.depth, m.species, m.box)
    with pytest.raises(ValueError, match="dt=0.008 is too large"):
        molcomp.sample(jax.random.key(0), deeper, s, state, 10)


def test_coincident_start_positions_are_rejected(sticky):
    m, x = sticky
    on_top = x.at[9].set(x[41])
    with pytest.raises(ValueError, match="particles 9 and 41 are 0 apart"):
        Brownian(dt=1e-3).init(m, on_top)
    with pytest.raises(ValueError, match="particles 9 and 41 of chain 1"):
        Brownian(dt=1e-3).init(m, jnp.stack([x, on_top]))
    # the soft core tolerates overlap: 0.5 sigma apart is accepted by default, and
    # rejected when asked to keep the cores apart
    near = x.at[9].set(jnp.mod(x[41] + jnp.array([0.5, 0.0]), 12.0))
    Brownian(dt=1e-3).init(m, near)
    with pytest.raises(ValueError, match="particles 9 and 41 are 0.5 apart"):
        Brownian(dt=1e-3, min_separation=1.0).init(m, near)
    Brownian(dt=1e-3, min_separation=0.0).init(m, on_top)  # switched off


def test_batched_step_is_vmap_of_single(sticky, getkey):
    m, x = sticky
    s = Brownian(dt=1e-3)
    xs = jnp.stack([x, jnp.mod(x + 0.3, 12.0)])
    batched = s.init(m, xs, extra_capacity=8)
    key = getkey()
    new, info = eqx.filter_jit(s.step)(key, m, batched)
    keys = jax.random.split(key, 2)
    for c in range(2):
        one = s.init(m, xs[c], extra_capacity=8)
        ref, _ = eqx.filter_jit(s.step)(keys[c], m, one)
        np.testing.assert_allclose(new.position[c], ref.position, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dt=0.0), "dt must be > 0"),
        (dict(dt=1e-3, dr_threshold=-1.0), "dr_threshold"),
        (dict(dt=1e-3, min_separation=1.5), "min_separation must be a fraction"),
    ],
)
def test_bad_sampler(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Brownian(**kwargs)


def test_bad_init(sticky):
    m, x = sticky
    with pytest.raises(ValueError, match="dr_threshold=5.0 is too large"):
        Brownian(dt=1e-3, dr_threshold=5.0).init(m, x)
    with pytest.raises(ValueError, match="positions must be finite"):
        Brownian(dt=1e-3).init(m, x.at[3, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="inside the box"):
        Brownian(dt=1e-3).init(m, x - 1.0)
    with pytest.raises(TypeError, match="ParticleMixture"):
        Brownian(dt=1e-3).init(object(), x)
    with pytest.raises(ValueError, match="extra_capacity must be an integer >= 0"):
        Brownian(dt=1e-3).init(m, x, extra_capacity=-1)
    # molcomp.sample checks the state against the sampler and the model
    s = Brownian(dt=1e-3)
    with pytest.raises(TypeError, match="state must be a ParticleState"):
        molcomp.sample(jax.random.key(0), m, s, molcomp.ChainState(x), 10)
    other = ParticleMixture(np.zeros((2, 2)), np.arange(16) % 2, (12.0, 12.0))
    with pytest.raises(ValueError, match=r"state.position must have shape \(16, 2\)"):
        molcomp.sample(jax.random.key(0), other, s, s.init(m, x), 10)
