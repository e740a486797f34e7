"""Replica exchange: every replica against exact enumeration, detailed balance of the
swap move (with a flipped-sign negative control), the beta-ladder formula, bad input.

System: two species and an empty state on a periodic 3 x 3 lattice (3^9 = 19683
states), attractive random couplings, BlockGibbs inside, and a ladder that moves beta
and mu together, so both kinds of rung are exercised. Tolerances come from the
effective sample size as in `test_samplers.py`: for each replica the largest tau_int
among the recorded series (energy, species fractions) gives ESS = chains * steps / tau,
and each observable f must lie within 5 sqrt(Var_exact f / ESS) + 1e-3 of its exact
mean (a false alarm at 5 sigma has probability ~6e-7 per observable).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import exact, observables

R, CHAINS, BURN, STEPS = 4, 16, 200, 800
N_SIGMA, FLOOR = 5.0, 1e-3
BETAS = jnp.array([0.3, 0.7, 1.2, 2.0])
SHIFTS = jnp.array([-1.0, -0.3, 0.2, 0.6])


@pytest.fixture(scope="module")
def system():
    rng = np.random.default_rng(5)
    J = rng.normal(size=(2, 2))
    J = (J + J.T) / 2 - 1.0
    model = molcomp.PottsModel(
        molcomp.lattice.square(3), molcomp.Couplings.symmetric(J), jnp.array([0.3, -0.2]),
        empty=True,
    )  # fmt: skip
    mus = model.mu[None, :] + SHIFTS[:, None]
    pt = molcomp.ReplicaExchange(molcomp.BlockGibbs(), betas=BETAS, mus=mus)
    expect = eqx.filter_jit(exact.expectation)  # the replicas share one compilation
    moments = [expect(pt.replica(model, r), _both) for r in range(R)]
    mean = np.stack([np.asarray(m) for m, _ in moments])
    var = np.stack([np.asarray(s) for _, s in moments]) - mean**2
    return model, pt, mean, var


def _observables(model, config):
    """Species and empty fractions, and the energy under the replica's own model."""
    return jnp.concatenate([model.counts(config) / config.shape[-1], model.energy(config)[None]])


def _both(model, config):
    f = _observables(model, config)
    return f, f * f


def _excess(key, model, pt, mean, var):
    """Per replica: max over observables of |estimate - exact| / tolerance (<= 1 passes),
    and the swap acceptance rates. One run, the first BURN steps of its trace dropped
    (a second `molcomp.sample` call of another length would compile again)."""
    state = pt.init(model, jnp.full((CHAINS, R, 9), 2))  # all empty
    out = molcomp.sample(key, model, pt, state, BURN + STEPS, trace_fn=_observables)
    series = np.asarray(out.trace)[BURN:]  # (steps, chains, R, F)
    got = series.mean(axis=(0, 1))  # (R, F)
    excess = []
    for r in range(R):
        tau = max(
            observables.integrated_autocorr_time(series[:, :, r, i])
            for i in range(series.shape[-1])
        )
        tol = N_SIGMA * np.sqrt(np.maximum(var[r], 0.0) / (CHAINS * STEPS / tau)) + FLOOR
        assert tol.max() < 0.1, f"replica {r}: run too short to be informative"
        excess.append(float(np.max(np.abs(got[r] - mean[r]) / tol)))
    assert out.acceptance.shape == (CHAINS, R)  # the inner sampler's, per replica
    np.testing.assert_array_equal(out.acceptance, 1.0)  # heat bath: every move made
    assert out.info.inner.acceptance.shape == (CHAINS, R)
    return np.array(excess), np.asarray(out.info.swap_acceptance).mean(axis=0)


def test_every_replica_matches_exact_enumeration(system, getkey):
    model, pt, mean, var = system
    excess, swap = _excess(getkey(), model, pt, mean, var)
    assert np.all(excess <= 1.0), excess
    # swaps happen, and not always: the acceptance test is doing something
    assert swap.shape == (R - 1,) and np.all((swap > 0.05) & (swap < 1.0)), swap


class _FlippedSwap(molcomp.ReplicaExchange):
    """Swap acceptance with the wrong sign: a deliberately wrong sampler."""

    def log_swap_acceptance(self, model, tables, configs):
        return -super().log_swap_acceptance(model, tables, configs)


@eqx.filter_jit
def _log_a(sampler, model, configs):
    return sampler.log_swap_acceptance(model, sampler.prepare(model), configs)


_energies = eqx.filter_jit(jax.vmap(lambda m, c: m.energy(c), (None, 0)))


def _balance_gap(pt, model, configs):
    """Largest violation of detailed balance of the swap move, in log space, over the
    neighbouring pairs (r, r + 1) with x = configs[r], y = configs[r + 1]:

        p_r(x) p_{r+1}(y) min(1, a(x, y)) = p_r(y) p_{r+1}(x) min(1, a(y, x)),

    with p_r ~ exp(-E_r) from `model.energy` of each replica's model (the partition
    functions cancel) and a from the sampler."""
    E = np.stack([np.asarray(_energies(pt.replica(model, r), configs)) for r in range(R)])
    forward = np.asarray(_log_a(pt, model, configs))
    gaps = []
    for r in range(R - 1):
        swapped = configs.at[r].set(configs[r + 1]).at[r + 1].set(configs[r])
        backward = float(np.asarray(_log_a(pt, model, swapped))[r])
        x, y = r, r + 1
        lhs = -E[r, x] - E[r + 1, y] + min(0.0, float(forward[r]))
        rhs = -E[r, y] - E[r + 1, x] + min(0.0, backward)
        gaps.append(abs(lhs - rhs))
    return max(gaps)


def test_swaps_satisfy_detailed_balance(system, getkey):
    """Exact check of the swap move on random configurations (no sampling). A flipped
    acceptance sign violates it; it also fails the enumeration test above, by up to 50
    tolerances for the cold replicas (tried)."""
    model, pt, _, _ = system
    for _ in range(4):
        configs = jax.random.randint(getkey(), (R, 9), 0, 3).astype(jnp.int8)
        assert _balance_gap(pt, model, configs) < 1e-4
    flipped = _FlippedSwap(pt.sampler, betas=pt.betas, mus=pt.mus)
    assert _balance_gap(flipped, model, configs) > 0.1


def test_swap_acceptance_by_hand(system, getkey):
    """A beta ladder alone: ln a = (beta_r - beta_{r+1}) (B(x_r) - B(x_{r+1})), with B
    the bond energy at beta = 1 (the mu terms cancel)."""
    model, pt, _, _ = system
    configs = jax.random.randint(getkey(), (R, 9), 0, 3).astype(jnp.int8)
    bonds = eqx.tree_at(lambda m: m.mu, model, jnp.zeros(2))
    B = np.asarray(_energies(bonds, configs))
    got = np.asarray(_log_a(molcomp.ReplicaExchange(pt.sampler, betas=BETAS), model, configs))
    b = np.asarray(BETAS)
    np.testing.assert_allclose(got, (b[:-1] - b[1:]) * (B[:-1] - B[1:]), rtol=1e-5, atol=1e-4)
    # inner aux (partner tables of neighbour proposals) is kept per replica
    nbr = molcomp.ReplicaExchange(molcomp.Metropolis(proposal="neighbour"), betas=BETAS)
    state = nbr.init(model, jnp.full(9, 2))
    assert state.config.shape == (R, 9) and state.aux.inner.partners.shape[0] == R


def test_bad_input(system):
    model, pt, _, _ = system
    gibbs = molcomp.BlockGibbs()
    with pytest.raises(ValueError, match="betas must be strictly increasing"):
        molcomp.ReplicaExchange(gibbs, betas=[0.5, 1.0, 1.0])
    with pytest.raises(ValueError, match="betas must be strictly increasing"):
        molcomp.ReplicaExchange(gibbs, betas=[1.0, 0.5])
    with pytest.raises(ValueError, match="betas must be finite"):
        molcomp.ReplicaExchange(gibbs, betas=[0.5, float("nan")])
    with pytest.raises(ValueError, match="betas must be >= 0"):
        molcomp.ReplicaExchange(gibbs, betas=[-0.5, 1.0])
    with pytest.raises(ValueError, match="at least 2 replicas"):
        molcomp.ReplicaExchange(gibbs, betas=[1.0])
    with pytest.raises(ValueError, match="betas and mus"):
        molcomp.ReplicaExchange(gibbs, betas=[0.5, 1.0], mus=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="ladder"):
        molcomp.ReplicaExchange(gibbs)
    with pytest.raises(TypeError, match="invariant"):
        molcomp.ReplicaExchange(molcomp.Gillespie(), betas=[0.5, 1.0])
    with pytest.raises(TypeError, match="sampler must be a molcomp sampler"):
        molcomp.ReplicaExchange("gibbs", betas=[0.5, 1.0])
    with pytest.raises(TypeError, match="mus replace the model's parameter `mu`"):
        place = molcomp.PlaceModel(
            molcomp.lattice.square(2, periodic=False), molcomp.interactions.potts(1.0, q=4)
        )
        molcomp.ReplicaExchange(molcomp.SwapMetropolis(), mus=np.zeros((2, 4))).init(
            place, place.reference_state()
        )
    with pytest.raises(ValueError, match="mus must have shape"):
        molcomp.ReplicaExchange(gibbs, mus=np.zeros((2, 5))).init(model, jnp.zeros(9, int))
    with pytest.raises(ValueError, match="config must have shape"):
        pt.init(model, jnp.zeros((3, 9), int))
    with pytest.raises(TypeError, match="ReplicaExchange.init"):
        molcomp.sample(jax.random.key(0), model, pt, molcomp.ChainState(jnp.zeros(9)), 2)
