"""Metropolis Monte Carlo of explicit linker particles (`LinkerParticles`).

State: observed positions, L * slots linker slots (slot s holds linker species
s // slots; `active` says which are present), and per face the arm it binds (2 s + h,
arm h of slot s) or -1. The grand-canonical target over labelled slots weights N_k
present linkers of species k by z_k^{N_k} (slots - N_k)! / slots!, so N_k is Poisson
truncated at `slots` (keep P(N_k > slots - n) negligible; `info.saturated` flags a
full species); this target is `LinkerParticles.energy`. Every move below obeys
detailed balance on its own:

- displace one observed particle (Gaussian step, or uniform in the box with
  probability `global_prob`) or one linker (Gaussian step);
- insert / delete a free linker: acc min(1, z V / (N + 1)) and min(1, N / (z V));
- insert / delete a linker singly bound to face i, placed uniformly in the ball of
  radius r_b (volume V_b) about it: acc min(1, 2 L z f V_b) and its inverse; or one
  bridging faces i, j: acc min(1, 2 L z f_i f_j V_b) and its inverse;
- bind / unbind face i and a uniformly chosen arm: acc min(1, f) and min(1, 1 / f).

The bonded insertions are what make bridging frequent enough to measure; they
only change how fast the chain mixes, not where it goes. `molcomp.sample` drives the
sampler (chains are a leading axis of the state; observables receive the `LinkerState`
of one chain).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..checks import check_fraction, check_key, check_positive_int, check_real
from ..samplers._base import AbstractSampler, SamplerInfo
from ._particles import LinkerParticles, LinkerState, _ball_volume

MOVES = ("observed", "linker", "exchange", "bonded", "bond")


class LinkerInfo(SamplerInfo):
    """Diagnostics of one `LinkerMonteCarlo` step, per chain (scalars for one chain).

    - `acceptance`: fraction of the five moves accepted.
    - `accepted`: (*chains, 5) which move (in `MOVES` order) was accepted; averaged by
      `molcomp.sample`, the acceptance rate of each move.
    - `saturated`: whether some linker species filled all its slots (averaged: the
      fraction of steps it did; keep it negligible, the slots truncate the reservoir).
    """

    accepted: Float[Array, "*chains 5"]
    saturated: Float[Array, "*chains"]


class LinkerMonteCarlo(AbstractSampler):
    """Metropolis sampler of `LinkerParticles` with explicit, valence-limited bonds.

    **Arguments:**

    - `slots`: linker slots per linker species (static; the most linkers of a species).
      Take it well above z_k V + n (a 3D check with z V = 2.7 and 8 slots, full 2% of
      the time, biased the bound fraction by 4%; 16 slots removed it).
    - `step_size`: Gaussian displacement of an observed particle.
    - `linker_step`: Gaussian displacement of a linker.
    - `global_prob`: probability that an observed-particle move is a uniform jump.

    `state = sampler.init(model, positions)` (no linkers, no bonds; positions (n, dim)
    or (chains, n, dim)); `state, info = sampler.step(key, model, state)` tries each of
    the five moves (`MOVES`) once; info is a `LinkerInfo`. Many steps:
    `molcomp.sample(key, model, sampler, state, steps, mean_fn=...)`, with observables
    `fn(model, state)` of one chain's `LinkerState` (e.g. `linker_bonds`).
    """

    slots: int = eqx.field(static=True, default=8)
    step_size: float = 0.2
    linker_step: float = 0.1
    global_prob: float = 0.2

    def __check_init__(self):
        check_positive_int("slots", self.slots)
        check_real("step_size", self.step_size, minimum=0.0, strict=True)
        check_real("linker_step", self.linker_step, minimum=0.0, strict=True)
        check_fraction("global_prob", self.global_prob)

    def check_model(self, model) -> None:
        """TypeError unless `model` is a `LinkerParticles`."""
        if not isinstance(model, LinkerParticles):
            raise TypeError(f"model must be LinkerParticles, got {type(model).__name__}")

    def init(self, model: LinkerParticles, positions) -> LinkerState:
        """No linkers and no bonds at the given (validated) observed positions
        ((n, dim) or (chains, n, dim))."""
        self.check_model(model)
        x = model.mixture.check_state(positions, "positions")
        chains = x.shape[:-2]
        m = self.slots * model.n_linker_species
        return LinkerState(
            position=x,
            linker=jnp.zeros((*chains, m, model.mixture.dim), jnp.float32),
            active=jnp.zeros((*chains, m), bool),
            bond=jnp.full(x.shape[:-1], -1, jnp.int32),
        )

    def step(
        self, key, model: LinkerParticles, state: LinkerState, prepared=None
    ) -> tuple[LinkerState, LinkerInfo]:
        """One try of each move; vmapped over a leading chain axis if present (one key
        per chain, split from `key`)."""
        check_key("key", key)
        if state.position.ndim == 3:
            keys = jax.random.split(key, state.position.shape[0])
            return jax.vmap(lambda k, s: self.step(k, model, s))(keys, state)
        # one random draw per step, handed out in order: a threefry call per
        # jax.random function would multiply the compiled size (and compile time)
        draw = _Draws(key, model.mixture.dim)
        accepted = []
        for move in (_observed, _linker, _exchange, _bonded, _bond):
            state, ok = move(draw, self, model, state)
            accepted.append(ok)
        counts = state.active.reshape(model.n_linker_species, self.slots).sum(1)
        accepted = jnp.stack(accepted).astype(jnp.float32)
        saturated = jnp.any(counts == self.slots).astype(jnp.float32)
        return state, LinkerInfo(jnp.mean(accepted), accepted, saturated)

    # ---- run hooks of `molcomp.sample` -------------------------------------------

    def check_state(self, model, state) -> None:
        """TypeError / ValueError unless `state` is a `LinkerState` for `model` (one
        chain or a leading chain axis)."""
        model.check_state(state, "state")
        if state.active.shape[-1] != self.slots * model.n_linker_species:
            raise ValueError(
                f"state holds {state.active.shape[-1]} linker slots, this sampler "
                f"{self.slots} per species x {model.n_linker_species} species"
            )

    def advance(self, key, model, carry, prepared):
        """One step of every chain (`step` splits the key per chain itself)."""
        return self.step(key, model, carry)

    def config_of(self, model, carry) -> LinkerState:
        """The whole `LinkerState`: observables read bonds and linkers, not only
        positions."""
        return carry


class _Draws:
    """Uniform variates of one step, taken in order at trace time (normals by
    Box-Muller from them)."""

    def __init__(self, key, dim):
        self.u = jax.random.uniform(key, (24 + 8 * dim,), minval=1e-7)
        self.nu = 0

    def uniform(self, n=None):
        m = 1 if n is None else n
        if self.nu + m > self.u.shape[0]:
            raise RuntimeError("a move drew more variates than _Draws holds")
        out = self.u[self.nu : self.nu + m]
        self.nu += m
        return out[0] if n is None else out

    def normal(self, n):
        u = self.uniform(2 * n).reshape(2, n)
        return jnp.sqrt(-2 * jnp.log(u[0])) * jnp.cos(2 * jnp.pi * u[1])

    def randint(self, n):
        return jnp.minimum(jnp.floor(self.uniform() * n).astype(jnp.int32), n - 1)

    def accept(self, log_ratio, allowed):
        return allowed & (jnp.log(self.uniform()) < log_ratio)

    def pick(self, mask):
        """A uniform index among True entries of `mask` (0 if none)."""
        target = jnp.floor(self.uniform() * jnp.sum(mask))
        return jnp.argmax(jnp.cumsum(mask) > target)


def linker_bonds(state: LinkerState) -> dict[str, Array]:
    """Bond observables of one chain: `bridged` (n, n) (one linker binds both faces)
    and `single` (n,) (a face bound by a linker whose other arm is free)."""
    bond = state.bond
    bound = bond >= 0
    same = (bond[:, None] // 2 == bond[None, :] // 2) & bound[:, None] & bound[None, :]
    bridged = same & ~jnp.eye(bond.shape[0], dtype=bool)
    return {"bridged": bridged, "single": bound & ~jnp.any(bridged, axis=1)}


# --- helpers and moves (single chain) ---


def _dist(model, x, y):
    box = jnp.asarray(model.mixture.box, jnp.float32)
    d = x - y
    d = d - box * jnp.round(d / box)
    return jnp.sqrt(jnp.sum(d**2, axis=-1))


def _wrap(model, x):
    return jnp.mod(x, jnp.asarray(model.mixture.box, jnp.float32))


def _owner(state):
    """For every arm, the face bound to it or -1."""
    arms = 2 * state.active.shape[0]
    hit = state.bond[None, :] == jnp.arange(arms)[:, None]  # (arms, n), one-hot: no scatter
    return jnp.where(jnp.any(hit, axis=1), jnp.argmax(hit, axis=1), -1)


def _set(arr, i, value):
    """arr.at[i].set(value) as a one-hot select: under vmap a batched scatter compiles
    to a loop on CPU, a select does not."""
    hit = (jnp.arange(arr.shape[0]) == i).reshape(-1, *[1] * (arr.ndim - 1))
    return jnp.where(hit, value, arr)


def _log_f(model, sampler, face_species, slot, r):
    return model.log_bond_weight(r, model.arm_depth[face_species, slot // sampler.slots])


def _observed(draw, sampler, model, state):
    mix, x = model.mixture, state.position
    n, dim = x.shape
    i = draw.randint(n)
    jump = draw.uniform(dim) * jnp.asarray(mix.box, jnp.float32)
    local = x[i] + sampler.step_size * draw.normal(dim)
    new = _wrap(model, jnp.where(draw.uniform() < sampler.global_prob, jump, local))
    depth = mix.depth[mix.species[i], mix.species]
    others = jnp.arange(n) != i

    def row(xi):
        u = mix.pair_energy(_dist(model, xi, x), depth)
        return jnp.sum(jnp.where(others, u, 0.0))

    s = jnp.maximum(state.bond[i], 0) // 2
    bonded = state.bond[i] >= 0
    y = state.linker[s]
    log_f = lambda xi: _log_f(model, sampler, mix.species[i], s, _dist(model, xi, y))  # noqa: E731
    d_bond = jnp.where(bonded, log_f(new) - jnp.where(bonded, log_f(x[i]), 0.0), 0.0)
    ok = draw.accept(row(x[i]) - row(new) + d_bond, True)
    return eqx.tree_at(lambda s: s.position, state, _set(x, i, jnp.where(ok, new, x[i]))), ok


def _linker(draw, sampler, model, state):
    s = draw.randint(state.active.shape[0])
    y = state.linker[s]
    new = _wrap(model, y + sampler.linker_step * draw.normal(y.shape[0]))
    owner = _owner(state)[2 * s + jnp.arange(2)]
    face = jnp.maximum(owner, 0)
    species = model.mixture.species[face]
    xf = state.position[face]
    lf_new = _log_f(model, sampler, species, s, _dist(model, xf, new))
    lf_old = _log_f(model, sampler, species, s, _dist(model, xf, y))
    delta = jnp.sum(jnp.where(owner >= 0, lf_new - jnp.where(owner >= 0, lf_old, 0.0), 0.0))
    ok = draw.accept(delta, state.active[s])
    return eqx.tree_at(lambda t: t.linker, state, _set(state.linker, s, jnp.where(ok, new, y))), ok


def _species_slots(sampler, model, k):
    return jnp.arange(sampler.slots * model.n_linker_species) // sampler.slots == k


def _exchange(draw, sampler, model, state):
    L = model.n_linker_species
    k = draw.randint(L)
    mine = _species_slots(sampler, model, k)
    count = jnp.sum(state.active & mine)
    zV = model.activity[k] * model.volume
    insert = draw.uniform() < 0.5
    s_in = draw.pick(mine & ~state.active)
    s_out = draw.pick(mine & state.active)
    owner = _owner(state)
    free = (owner[2 * s_out] < 0) & (owner[2 * s_out + 1] < 0)
    log_in, log_out = jnp.log(zV / (count + 1)), jnp.log(count / zV)
    ok = draw.accept(
        jnp.where(insert, log_in, log_out),
        jnp.where(insert, count < sampler.slots, (count > 0) & free),
    )
    ok_in, ok_out = ok & insert, ok & ~insert
    y = draw.uniform(model.mixture.dim) * jnp.asarray(model.mixture.box)
    active = _set(state.active, s_in, state.active[s_in] | ok_in)
    active = _set(active, s_out, active[s_out] & ~ok_out)
    linker = _set(state.linker, s_in, jnp.where(ok_in, y, state.linker[s_in]))
    return eqx.tree_at(lambda t: (t.active, t.linker), state, (active, linker)), ok_in | ok_out


def _in_ball(draw, model, centre):
    """A uniform point in the ball of radius r_b about `centre` (wrapped)."""
    dim = centre.shape[0]
    u = draw.normal(dim)
    radius = model.arm_range * draw.uniform() ** (1 / dim)
    return _wrap(model, centre + radius * u / jnp.linalg.norm(u))


def _bonded(draw, sampler, model, state):
    """Insert a linker bound to face i (or bridging faces i and j), or delete one bound
    to exactly those faces. The faces (i, j), their number and the direction are drawn
    independently of the state, so each choice is balanced by its reverse."""
    n, L = state.position.shape[0], model.n_linker_species
    i = draw.randint(n)
    j = draw.randint(max(n - 1, 1))
    faces = jnp.stack([i, j + (j >= i)])
    use = jnp.stack([True, (draw.uniform() < 0.5) & (n >= 2)])
    insert = draw.uniform() < 0.5
    vb = _ball_volume(model.mixture.dim, model.arm_range)
    species = model.mixture.species[faces]
    owner = _owner(state)
    # insertion: species k, a uniform empty slot, arm h on face i, a point in its ball
    k = draw.randint(L)
    mine = _species_slots(sampler, model, k)
    s_in = draw.pick(mine & ~state.active)
    h = draw.randint(2)
    y = _in_ball(draw, model, state.position[i])
    lf_in = _log_f(model, sampler, species, s_in, _dist(model, state.position[faces], y))
    log_in = jnp.log(2 * L * model.activity[k] * vb) + jnp.sum(jnp.where(use, lf_in, 0.0))
    allow_in = jnp.any(mine & ~state.active) & jnp.all((state.bond[faces] < 0) | ~use)
    # deletion: the linker on face i, bound to exactly the chosen faces
    s_out = jnp.maximum(state.bond[i], 0) // 2
    bound = jnp.sort(owner[2 * s_out + jnp.arange(2)])
    allow_out = (state.bond[i] >= 0) & jnp.all(bound == jnp.sort(jnp.where(use, faces, -1)))
    y_out = state.linker[s_out]
    lf_out = _log_f(model, sampler, species, s_out, _dist(model, state.position[faces], y_out))
    k_out = s_out // sampler.slots
    log_out = -jnp.log(2 * L * model.activity[k_out] * vb) - jnp.sum(
        jnp.where(use & allow_out, lf_out, 0.0)
    )
    ok = draw.accept(jnp.where(insert, log_in, log_out), jnp.where(insert, allow_in, allow_out))
    ok_in, ok_out = ok & insert, ok & ~insert
    s = jnp.where(insert, s_in, s_out)
    active = _set(state.active, s, jnp.where(ok, insert, state.active[s]))
    linker = _set(state.linker, s, jnp.where(ok_in, y, state.linker[s]))
    arms = 2 * s_in + jnp.stack([h, 1 - h])
    new_bond = jnp.where(ok_in, arms, jnp.where(ok_out, -1, state.bond[faces]))
    bond = state.bond
    for f in range(2):
        bond = _set(bond, faces[f], jnp.where(use[f], new_bond[f], bond[faces[f]]))
    return eqx.tree_at(lambda t: (t.active, t.linker, t.bond), state, (active, linker, bond)), ok


def _bond(draw, sampler, model, state):
    i = draw.randint(state.position.shape[0])
    arm = draw.randint(2 * state.active.shape[0])
    s = arm // 2
    owner = _owner(state)
    r = _dist(model, state.position[i], state.linker[s])
    lf = _log_f(model, sampler, model.mixture.species[i], s, r)
    unbind = state.bond[i] == arm
    bind = (state.bond[i] < 0) & state.active[s] & (owner[arm] < 0)
    log_acc = jnp.where(unbind, -jnp.where(unbind, lf, 0.0), lf)
    ok = draw.accept(log_acc, unbind | bind)
    new = jnp.where(ok, jnp.where(unbind, -1, arm), state.bond[i])
    return eqx.tree_at(lambda t: t.bond, state, _set(state.bond, i, new)), ok
