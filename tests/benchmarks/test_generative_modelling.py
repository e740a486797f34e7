"""Smoke run of generative_modelling (Potts mixture vs RBM vs Boltzmann machine, one
sleep-wake rule) and the exact references it relies on."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning
import molcomp
from benchmarks import generative_modelling as gm

COSTS = {"n_parameters", "train_wall_s", "inference_s_per_example"}


def test_generative_smoke(smoke_records, tmp_path):
    records = smoke_records(gm.NAME)
    by = {}
    for r in records:
        by.setdefault(r["learner"], {})[r["metric"]] = r
    assert set(by) == set(gm.LEARNERS)
    assert by["potts_mixture"]["heldout_log_likelihood"]["kind"] == "physical"
    assert by["rbm"]["heldout_log_likelihood"]["kind"] == "neural"
    assert by["boltzmann_machine"]["heldout_log_likelihood"]["kind"] == "neural"
    teacher = by["teacher"]["heldout_log_likelihood_exact"]["value"]
    for learner in gm.TRAINED:
        got = by[learner]
        assert {
            "heldout_log_likelihood",
            "heldout_log_likelihood_stderr",
            "ais_stderr",
        } | COSTS <= set(got)
        assert got["heldout_log_likelihood"]["value"] < 0
        assert got["heldout_log_likelihood_stderr"]["value"] > 0  # two seeds
        assert got["ais_stderr"]["value"] > 0
        assert got["heldout_log_likelihood"]["params"]["seeds"] == gm.SIZES["smoke"]["seeds"]
    for learner in ("potts_mixture", "rbm", "independent_sites"):
        got = by[learner]
        assert got["kl_exact"]["value"] > 0
        # no model beats the data's own distribution by more than sampling noise
        assert got["heldout_log_likelihood_exact"]["value"] < teacher + 0.1
    assert "kl_exact" not in by["boltzmann_machine"]  # 2^36 states: AIS only
    assert by["potts_mixture"]["n_parameters"]["value"] == 2 * 6 * 6 + 6
    assert by["rbm"]["n_parameters"]["value"] == 36 * gm.HIDDEN + 36 + gm.HIDDEN
    pot = by["potts_mixture"]
    for other in ("rbm", "boltzmann_machine"):
        assert pot[f"paired_difference_vs_{other}"]["params"]["versus"] == other
        assert pot[f"paired_difference_vs_{other}_stderr"]["value"] > 0
    assert (tmp_path / "generative_modelling.png").exists()


def test_rbm_log_partition_matches_enumeration():
    rbm = learning.neural.RBM.random(jax.random.key(0), 6, 3, scale=0.7)
    rbm = learning.neural.RBM(rbm.weights, jnp.linspace(-0.5, 0.5, 6), jnp.array([0.3, -0.2, 0.1]))
    exact = molcomp.exact.log_partition(rbm.marginal())
    assert float(gm.rbm_log_partition(rbm)) == pytest.approx(float(exact), abs=1e-4)


def test_task_data_are_configurations_of_the_teacher():
    teacher, structs, train, heldout = gm.task(0)
    assert train.shape == (gm.TRAIN, 6) and heldout.shape == (gm.HELDOUT, 6)
    assert int(train.max()) <= gm.SPECIES  # species or the empty state
    code = np.asarray(gm.one_hot(train[:5]))
    assert code.shape == (5, gm.N_VISIBLE) and np.all(code.reshape(5, 6, 6).sum(-1) <= 1)
    # the stored structures are among the most probable configurations
    lp = np.asarray(molcomp.exact.log_probabilities(teacher))
    full = molcomp.exact.configuration_index(teacher, structs.configuration(0)[None])
    assert lp[int(full[0])] > np.quantile(lp, 0.999)
