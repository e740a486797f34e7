"""Negative controls of the exact-enumeration sampler tests (`test_samplers.py`).

Each deliberately wrong sampler below is run through the same check (`excess`: max over
site marginals and per-direction contact fractions of |mean - exact| / tolerance,
tolerance = 5 standard errors from the effective sample size) and must be rejected
(`excess > 1`). The bugs are the ones that check is meant to catch: couplings read
transposed, padded neighbour slots counted as bonds, a heat bath at the wrong
temperature, and a proposal density without its Hastings factor. The correct samplers
pass the same check, with the same sizes, in `test_samplers.py`.
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
from test_samplers import _irregular_graph, exact_moments, excess

import molcomp
from molcomp import lattice


class _Transposed(molcomp.BlockGibbs):
    """Heat bath reading every direction's coupling table transposed (J[d][b, a])."""

    def prepare(self, model):
        T, mu = model.tables()
        return jnp.swapaxes(T, 1, 2), mu


class _Hot(molcomp.BlockGibbs):
    """Heat bath at 0.8 times the model's beta (temperature 25 % too high)."""

    def prepare(self, model):
        T, mu = model.tables()
        return 0.8 * T, mu


class _PaddedBonds(molcomp.BlockGibbs):
    """Heat bath that counts the padded neighbour slots of low-degree sites as bonds."""

    def advance(self, key, model, carry, prepared):
        lat = model.lattice
        wrong = eqx.tree_at(lambda m: m.lattice.mask, model, jnp.ones_like(lat.mask))
        return super().advance(key, wrong, carry, prepared)


class _NoHastings(molcomp.Metropolis):
    """The neighbour proposal without its Hastings factor (a wrong proposal density)."""

    def _propose(self, words, model, sigma, block, table):
        new, log_h = super()._propose(words, model, sigma, block, table)
        return new, jnp.zeros_like(log_h)


def _graph_model(make_couplings):
    rng = np.random.default_rng(6)  # the model of test_samplers.test_graph
    return molcomp.PottsModel(
        lattice.from_graph(_irregular_graph()),
        make_couplings(rng, 3, None),
        mu=jnp.array([0.2, -0.5, 0.4]),
        empty=True,
    )


# (id, wrong sampler, model name, model builder)
CONTROLS = [
    ("transposed-couplings", _Transposed(), "square3-True-False-False",
     lambda p, w, c: p[True, False]),
    ("padded-slots-as-bonds", _PaddedBonds(), "graph", lambda p, w, c: _graph_model(c)),
    ("wrong-temperature", _Hot(), "square3-False-True-True", lambda p, w, c: w(p[False, True])),
    ("missing-hastings", _NoHastings(proposal="neighbour", empty_prob=0.2),
     "square3-True-True-True", lambda p, w, c: w(p[True, True])),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "wrong, name, build", [c[1:] for c in CONTROLS], ids=[c[0] for c in CONTROLS]
)
def test_wrong_sampler_is_rejected(getkey, potts3x3, with_mu, make_couplings, wrong, name, build):
    model = build(potts3x3, with_mu, make_couplings)
    assert excess(getkey(), model, wrong, exact_moments(name, model)) > 1.0
