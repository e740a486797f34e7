"""Smoke runs of md_throughput and gradient_memory through the harness: every record
the issue lists is emitted with sane values; and, where OpenMM is installed, its peer
system equals molcomp's (energies, forces, a short Brownian trajectory)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from benchmarks import gradient_memory, md_throughput
from benchmarks._harness import Context
from molcomp import particles


def test_md_throughput_smoke(smoke_records):
    records = smoke_records(md_throughput.NAME)
    assert {r["metric"] for r in records} == {"particle_steps_per_s"}
    for r in records:
        assert r["value"] > 0 and r["higher_is_better"]
        assert {"dim", "N", "dt", "density", "cutoff"} <= set(r["params"])


def test_gradient_memory_smoke(smoke_records):
    records = smoke_records(gradient_memory.NAME)
    mem = {
        (r["params"]["T"], r["params"]["checkpointing"]): r["value"]
        for r in records
        if r["metric"] == "peak_memory_bytes"
    }
    lengths = gradient_memory.SIZES["smoke"][1]
    assert set(mem) == {(T, c) for T in lengths for c in (False, True)}
    short, long = min(lengths), max(lengths)
    # Plain reverse mode stores every step: memory grows with T. Blocks of sqrt(T)
    # steps store T / b + b states instead, so at the longer T they need less.
    assert mem[long, False] > mem[short, False]
    assert 0 < mem[long, True] < mem[long, False]
    (exponent,) = [r["value"] for r in records if r["metric"] == "memory_exponent"]
    # Plain memory is linear in T (slope ~1); sqrt(T) blocks give slope <= 1/2 plus
    # fixed costs, which only lower it.
    assert exponent < 0.75
    assert all(r["value"] > 0 for r in records if r["metric"] == "grad_wall_s")


# ---- OpenMM, the peer of md_throughput: the same system, the same dynamics -------------
N_OPENMM, RELAX = 125, 50  # 3D at the benchmark's density: box 7.47 >= 2 (cutoff + skin)


@pytest.fixture(scope="module")
def openmm_start():
    """(model, relaxed positions): the benchmark's 3D system, small, relaxed as there."""
    pytest.importorskip("openmm")
    model, state = md_throughput.relaxed(3, N_OPENMM, RELAX, RELAX, Context())
    return model, np.asarray(state.position)


def _openmm_energy_force(context, x):
    context.setPositions(np.asarray(x, np.float64))
    st = context.getState(getEnergy=True, getForces=True)
    return st.getPotentialEnergy()._value, np.asarray(st.getForces(asNumpy=True)._value)


@pytest.mark.slow
def test_openmm_energy_and_forces_equal_molcomp(openmm_start):
    # The start and 4 frames of a molcomp trajectory from it. Measured differences:
    # 2e-5 kT on |E| ~ 170 kT and 4e-5 on forces up to ~13 kT / sigma, both float32
    # sums of ~10^3 pair terms; 5e-4 and 2e-4 leave a 10x margin, while a wrong
    # depth, cutoff or core changes E by >= 1e-2 (the negative control below).
    model, x = openmm_start
    context, _ = md_throughput.openmm_context(model, x)
    sampler = particles.Brownian(dt=md_throughput.DT, dr_threshold=md_throughput.SKIN)
    out = molcomp.sample(jax.random.key(3), model, sampler, sampler.init(model, x), 40,
                         trace_fn=lambda m, p: p)  # fmt: skip
    frames = [x, *np.asarray(out.trace)[9::10]]
    for frame in frames:
        e_omm, f_omm = _openmm_energy_force(context, frame)
        pos = jnp.asarray(frame)
        nbrs = sampler.init(model, pos).neighbors
        for e in (model.energy(pos), model.energy(pos, nbrs)):
            assert abs(float(e) - e_omm) < 5e-4, (float(e), e_omm)
        np.testing.assert_allclose(model.force(pos, nbrs), f_omm, atol=2e-4)
    # negative control: OpenMM built for other depths disagrees with this model
    deeper = particles.ParticleMixture(2 * md_throughput.DEPTH, model.species, model.box,
                                       cutoff=md_throughput.CUTOFF)  # fmt: skip
    wrong, _ = md_throughput.openmm_context(deeper, x)
    assert abs(float(model.energy(jnp.asarray(x))) - _openmm_energy_force(wrong, x)[0]) > 1.0


@pytest.mark.slow
def test_openmm_brownian_trajectory_matches_molcomp(openmm_start):
    # Drift: at kT = 0 OpenMM's BrownianIntegrator is x <- x + dt / (m gamma) F(x);
    # 20 steps of it equal the same map with molcomp's forces (measured 2e-6; each
    # step moves particles by dt F ~ 1e-2, so a wrong friction, mass or time unit is
    # off by >= 1e-2). Noise: at kT = 1 the residual x' - x - dt F(x) must have variance
    # 2 dt per coordinate (molcomp's free diffusion constant 1 / gamma); 20 steps x 375
    # coordinates give a relative standard error sqrt(2 / 7500) = 1.6 %, so 8 % is 5
    # standard errors, while a wrong kT or friction convention is off by >= 50 %.
    model, x = openmm_start
    box = np.asarray(model.box)
    dt, steps = md_throughput.DT, 20
    _, shift = model.space()

    def wrapped(d):
        return d - box * np.round(d / box)

    context, integrator = md_throughput.openmm_context(model, x, kT=0.0)
    ref = jnp.asarray(x)
    for _ in range(steps):
        integrator.step(1)
        ref = shift(ref, dt * model.force(ref))
    got = context.getState(getPositions=True).getPositions(asNumpy=True)._value
    assert np.abs(wrapped(np.asarray(got) - np.asarray(ref))).max() < 1e-5

    context, integrator = md_throughput.openmm_context(model, x, seed=5)
    prev, residuals = np.asarray(x, np.float64), []
    for _ in range(steps):
        drift = dt * np.asarray(model.force(jnp.asarray(prev, jnp.float32)))
        integrator.step(1)
        now = np.asarray(context.getState(getPositions=True).getPositions(asNumpy=True)._value)
        residuals.append(wrapped(now - prev - drift))
        prev = now
    r = np.concatenate(residuals).ravel()
    assert abs(r.var() / (2 * dt) - 1) < 0.08, r.var() / (2 * dt)
    assert abs(r.mean()) < 5 * np.sqrt(2 * dt / r.size)


@pytest.mark.slow
def test_openmm_case_runs_and_times(openmm_start):
    # The peer case end to end at a tiny size (its energy check included).
    ms = md_throughput._run_openmm(3, N_OPENMM, RELAX, RELAX, 1, Context())
    assert ms[0].metric == "particle_steps_per_s" and ms[0].value > 0
