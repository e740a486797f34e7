"""The sleep-wake rule for linker concentrations: bound linkers are hidden units.

On the explicit-linker lattice (`molcomp.linkers.ExplicitLinkerLattice`) a joint state
is x = (sigma, h): site species sigma (observed) and linker states h on faces and
bonds (hidden). Its weight w(sigma, h) holds one factor z_k per bound linker of type k
(a single bond or a bridge), so with n_k(h) the number of bound linkers of type k,

$$\\frac{\\partial \\ln w(\\sigma, h)}{\\partial \\ln z_k} = n_k(h),\\qquad
E(\\sigma, h) = -\\ln w(\\sigma, h).$$

The model's law of the observed species is Q(sigma) = sum_h w(sigma, h) / Z. Then

$$\\frac{\\partial\\, \\mathrm{KL}(P_{data} \\| Q)}{\\partial \\ln z_k}
= -\\sum_\\sigma P_{data}(\\sigma) \\sum_h Q(h | \\sigma)\\, n_k(h)
+ \\sum_{\\sigma, h} Q(\\sigma, h)\\, n_k(h)
= \\langle n_k \\rangle_{model} - \\langle n_k \\rangle_{data}$$

where the data average clamps the species to data configurations and averages the
linkers given them. This is the sleep-wake table's grad = <dE/dtheta>_data -
<dE/dtheta>_model with dE/d ln z_k = -n_k: positive when the free model binds more
linkers of type k than the clamped one, so descending it lowers z_k. Concentrations
are stored as softplus pre-images (`Linkers.raw`), so the gradient optax sees is
(<n_k>_model - <n_k>_data) * sigmoid(raw_k) / softplus(raw_k).

The estimator is `learning.energy_gap_grad` on the joint energy: any samples or exact
weights of the two phases. Given sigma the linkers factorise over bonds and dangling
faces, so `sample_linkers` draws h | sigma exactly (data phase; model phase after
sampling sigma from `Linkers.effective_model` with any molcomp sampler), and
`joint_states` + `exact_phases` give both averages exactly for tiny systems.
"""

from __future__ import annotations

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from molcomp import AbstractEnergyModel
from molcomp.checks import check_key, is_concrete
from molcomp.linkers import ExplicitLinkerLattice

from .._estimator import energy_gap_grad

MAX_JOINT_STATES = 1 << 22


class LinkerGradInfo(eqx.Module):
    """Diagnostics of `linker_sleep_wake_grad`.

    **Fields:** `bound_data`, `bound_model` (<n_k> in each phase, (L,)),
    `grad_log_concentration` (their difference, the gradient in ln z_k) and
    `energy_gap` (<E>_data - <E>_model).
    """

    bound_data: Float[Array, " L"]
    bound_model: Float[Array, " L"]
    grad_log_concentration: Float[Array, " L"]
    energy_gap: Float[Array, ""]


class LinkerJointModel(AbstractEnergyModel):
    """The explicit-linker lattice as an energy model over joint states.

    A joint state is one integer vector: the n site species (q = empty), then the
    n z face states, then the bond states (linker states 0 = none, k + 1 = linker k),
    as `ExplicitLinkerLattice.log_weight` reads them. E(x) = -ln w(x) (+inf for an
    impossible state). Every entry lies in [0, n_states) with n_states =
    max(q + 1, L + 1); an entry outside its own part's range (a species above q, a
    linker state above L) is an impossible state too, so `molcomp.exact` enumerates the
    model correctly.

    **Arguments:** `explicit`, an `ExplicitLinkerLattice`.
    """

    explicit: ExplicitLinkerLattice

    def __check_init__(self):
        if not isinstance(self.explicit, ExplicitLinkerLattice):
            raise TypeError(
                f"explicit must be an ExplicitLinkerLattice, got {type(self.explicit).__name__}"
            )

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(sites, faces, bonds): the lengths of the three parts of a joint state."""
        n = self.explicit.lattice.n_sites
        return n, n * self.explicit.lattice.max_degree, len(self.explicit.pairs)

    @property
    def state_shape(self) -> tuple[int]:
        """(N,): the length of a joint state (sites + faces + bonds)."""
        return (sum(self.sizes),)

    @property
    def n_states(self) -> int:
        """max(q + 1, L + 1): the range of every entry of a joint state."""
        return max(self.explicit.linkers.n_species, self.n_linkers) + 1

    @property
    def n_linkers(self) -> int:
        """Number of linker types L."""
        return self.explicit.linkers.raw.shape[0]

    def split(self, x: Int[Array, " N"]):
        """(sites, faces, bridges) of a joint state."""
        n, f, _ = self.sizes
        return x[:n], x[n : n + f], x[n + f :]

    def energy(self, x: Int[Array, " N"]) -> Float[Array, ""]:
        """E(x) = -ln w(x); +inf for an impossible state."""
        sites, faces, bridges = self.split(x)
        q, L = self.explicit.linkers.n_species, self.n_linkers
        in_range = (jnp.all(sites <= q) & jnp.all(faces <= L) & jnp.all(bridges <= L)) & jnp.all(
            x >= 0
        )
        return jnp.where(in_range, -self.explicit.log_weight(sites, faces, bridges), jnp.inf)

    def bound_linkers(self, x: Int[Array, " N"]) -> Float[Array, " L"]:
        """n_k: bound linkers of each type (single bonds on faces plus bridges)."""
        _, faces, bridges = self.split(x)
        states = jnp.concatenate([faces, bridges])
        return jnp.sum(states[:, None] == jnp.arange(1, self.n_linkers + 1), 0).astype(jnp.float32)

    def check_state(self, x, name: str = "states"):
        """Integer joint states (N,) or (m, N)."""
        arr = jnp.asarray(x)
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.n_sites:
            raise ValueError(
                f"{name} must have shape (N,) or (m, N) with N = {self.n_sites} (sites, faces, "
                f"bonds = {self.sizes}), got {arr.shape}"
            )
        if not jnp.issubdtype(arr.dtype, jnp.integer):
            raise TypeError(f"{name} must hold integer states, got dtype {arr.dtype}")
        return arr.astype(jnp.int32)


def linker_filter_spec(model: LinkerJointModel):
    """Filter spec training only the linker concentrations (`explicit.linkers.raw`)."""
    spec = jax.tree_util.tree_map(lambda _: False, model)
    return eqx.tree_at(lambda m: m.explicit.linkers.raw, spec, True)


def _check_model(model):
    if not isinstance(model, LinkerJointModel):
        raise TypeError(f"model must be a LinkerJointModel, got {type(model).__name__}")


def _check_sites(model, sites):
    q, n = model.explicit.linkers.n_species, model.sizes[0]
    arr = jnp.asarray(sites)
    if arr.ndim not in (1, 2) or arr.shape[-1] != n or not jnp.issubdtype(arr.dtype, jnp.integer):
        raise ValueError(f"sites must be integer arrays of shape (n,) or (m, n), n = {n}")
    if is_concrete(sites) and np.any((np.asarray(sites) < 0) | (np.asarray(sites) > q)):
        raise ValueError(f"sites must lie in [0, {q}] ({q} = empty), got {arr}")
    return arr.astype(jnp.int32)


def _local_tables(model):
    """ln weights of one face holding linker state s, T (q + 1, L + 1), and of one bond
    bridged by linker state s, B (q + 1, q + 1, L + 1); row q is the empty site."""
    lk = model.explicit.linkers
    q, L = lk.n_species, model.n_linkers
    log_zK = jnp.log(lk.concentrations)[None, :] + jnp.log(lk.binding)  # (q, L)
    T = jnp.concatenate([jnp.zeros((q, 1)), log_zK], 1)
    T = jnp.concatenate([T, jnp.full((1, L + 1), -jnp.inf).at[0, 0].set(0.0)], 0)
    B = jnp.log(lk.bridge) + log_zK[:, None, :] + jnp.log(lk.binding)[None, :, :]
    B = jnp.pad(B, ((0, 1), (0, 1), (0, 0)), constant_values=-jnp.inf)
    return T, jnp.concatenate([jnp.zeros((q + 1, q + 1, 1)), B], 2)


def sample_linkers(key, model: LinkerJointModel, sites) -> Int[Array, "m N"]:
    """Joint states with the linkers drawn exactly from Q(h | sites).

    Given the species the weight factorises: each bond chooses among (face, face)
    single-bond states and its L bridges, each dangling face among its L + 1 states.

    **Arguments:** `key`; `model`; `sites` (n,) or (m, n) species in [0, q] (q = empty).

    **Returns:** (m, N) joint states (the sites followed by the sampled linkers).
    """
    check_key("key", key)
    _check_model(model)
    sites = _check_sites(model, sites)
    one_row = sites.ndim == 1
    sites = sites[None] if one_row else sites
    z, L = model.explicit.lattice.max_degree, model.n_linkers
    pairs = np.asarray(model.explicit.pairs, np.int32).reshape(-1, 2)
    dangling = np.setdiff1d(np.arange(model.sizes[1]), pairs.ravel())
    opts = [(a, b, 0) for a in range(L + 1) for b in range(L + 1)]
    opts = jnp.asarray(opts + [(0, 0, k) for k in range(1, L + 1)], jnp.int32)
    T, B = _local_tables(model)

    def one(k, s):
        k_bond, k_face = jax.random.split(k)
        sa, sb = s[pairs[:, 0] // z], s[pairs[:, 1] // z]
        logits = T[sa][:, opts[:, 0]] + T[sb][:, opts[:, 1]] + B[sa, sb][:, opts[:, 2]]
        chosen = opts[jax.random.categorical(k_bond, logits)]
        faces = jnp.zeros(model.sizes[1], jnp.int32)
        faces = faces.at[pairs[:, 0]].set(chosen[:, 0]).at[pairs[:, 1]].set(chosen[:, 1])
        if dangling.size:
            faces = faces.at[dangling].set(jax.random.categorical(k_face, T[s[dangling // z]]))
        return jnp.concatenate([s, faces, chosen[:, 2]])

    out = jax.vmap(one)(jax.random.split(key, sites.shape[0]), sites)
    return out[0] if one_row else out


def joint_states(model: LinkerJointModel) -> Int[Array, "P N"]:
    """Every joint state of nonzero weight, enumerated (tiny systems only)."""
    _check_model(model)
    ex = model.explicit
    q, n = ex.linkers.n_species, model.sizes[0]
    sites = np.array(list(itertools.product(range(q + 1), repeat=n)), np.int32)
    faces, bridges = ex.linker_states()
    total = sites.shape[0] * faces.shape[0]
    if total > MAX_JOINT_STATES:
        raise ValueError(f"{total} joint states exceed {MAX_JOINT_STATES}; use a tinier lattice")
    hidden = np.concatenate([np.asarray(faces), np.asarray(bridges)], 1).astype(np.int32)
    states = np.concatenate(
        [np.repeat(sites, hidden.shape[0], 0), np.tile(hidden, (sites.shape[0], 1))], 1
    )
    energy = np.asarray(jax.jit(jax.vmap(model.energy))(jnp.asarray(states)))
    return jnp.asarray(states[np.isfinite(energy)])


def exact_phases(model: LinkerJointModel, states, data, data_weights=None):
    """Exact weights of the two phases over enumerated joint `states`.

    **Arguments:** `model`; `states` from `joint_states(model)`; `data` (m, n) site
    configurations; `data_weights` (m,) their probabilities (default uniform).

    **Returns:** `(data_weights, model_weights)` over `states`: P_data(sigma) Q(h | sigma)
    (species clamped to the data, linkers given them) and Q(sigma, h). Jittable.
    """
    _check_model(model)
    data = _check_sites(model, data)
    data = data[None] if data.ndim == 1 else data
    m = data.shape[0]
    w = jnp.full(m, 1.0 / m) if data_weights is None else jnp.asarray(data_weights, jnp.float32)
    if w.shape != (m,):
        raise ValueError(f"data_weights must have shape ({m},), got {w.shape}")
    log_w = -jax.vmap(model.energy)(states)
    match = jnp.all(states[None, :, : model.sizes[0]] == data[:, None, :], -1)  # (m, P)
    clamped = jax.nn.softmax(jnp.where(match, log_w, -jnp.inf), axis=-1)
    return (w / jnp.sum(w)) @ clamped, jax.nn.softmax(log_w)


def linker_sleep_wake_grad(
    model: LinkerJointModel,
    data_states,
    model_states,
    *,
    data_weights=None,
    model_weights=None,
):
    """The sleep-wake gradient of KL(P_data || Q) with respect to the linker
    concentrations, from joint states of the two phases.

    $$\\frac{\\partial \\mathrm{KL}}{\\partial \\ln z_k} = \\langle n_k \\rangle_{model}
    - \\langle n_k \\rangle_{data}$$ (derivation and sign: the module docstring).

    **Arguments:**

    - `model`: a `LinkerJointModel`.
    - `data_states`: (m, N) joint states with the species of data configurations and
      linkers drawn given them (`sample_linkers`), or all states with `exact_phases`
      weights.
    - `model_states`: (m', N) joint states from the model (species from any sampler of
      `Linkers.effective_model`, then `sample_linkers`), or all states with weights.
    - `data_weights`, `model_weights`: optional weights of the rows.

    **Returns:** `(grads, info)`: grads shaped like `model`, nonzero only at
    `explicit.linkers.raw` (None elsewhere), for optax to descend; a `LinkerGradInfo`.
    """
    _check_model(model)
    data_states = model.check_state(data_states, "data_states").reshape(-1, model.n_sites)
    model_states = model.check_state(model_states, "model_states").reshape(-1, model.n_sites)
    grads, gap = energy_gap_grad(
        model,
        data_states,
        data_weights,
        model_states,
        model_weights,
        filter_spec=linker_filter_spec(model),
        via_statistics=False,
    )

    def mean_bound(states, weights):
        n = jax.vmap(model.bound_linkers)(states)
        return jnp.mean(n, 0) if weights is None else weights @ n / jnp.sum(weights)

    n_data, n_model = mean_bound(data_states, data_weights), mean_bound(model_states, model_weights)
    info = LinkerGradInfo(
        bound_data=n_data,
        bound_model=n_model,
        grad_log_concentration=n_model - n_data,
        energy_gap=gap,
    )
    return grads, info
