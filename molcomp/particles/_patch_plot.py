"""Matplotlib picture of a patchy-particle configuration: discs coloured by species,
their patches as short ticks, patch bonds as lines."""

from __future__ import annotations

import numpy as np

from ._patchy import PatchyMixture


def plot_patchy(model: PatchyMixture, config, *, ax=None, bonds: bool = True, highlight=None,
                cmap=None):  # fmt: skip
    """Draw one configuration of a `PatchyMixture`.

    Each particle is a disc of diameter sigma in its species' colour (the lattice
    plot's colours: tab10 / tab20 up to 20 species, else a continuous map), each of its K
    patches a black tick from the centre to the rim (patch d at body angle theta +
    2 pi d / K), each patch bond (`model.patch_bonds`) a grey line between centres
    (left out across the periodic boundary).

    **Arguments:**

    - `model`: the `PatchyMixture`; `config`: (n, 3) x, y, theta.
    - `ax`: the matplotlib Axes (default: a new figure).
    - `bonds`: draw the patch bonds.
    - `highlight`: optional particle indices drawn with a thick outline (e.g. the
      largest correctly bonded cluster, `PatchReadout.cluster.sites`).
    - `cmap`: a colormap or its name.

    **Returns:** the Axes.

    **Example:**

    ```python
    ax = particles.plot_patchy(model, config, highlight=out.cluster.sites)
    ```
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import Circle

    if not isinstance(model, PatchyMixture):
        raise TypeError(f"model must be a PatchyMixture, got {type(model).__name__}")
    x = np.asarray(model.check_state(config, "config"))
    if x.ndim != 2:
        raise ValueError(f"config must be one configuration (n, 3), got shape {x.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    q, K = model.n_species, model.n_patches
    sigma = float(model.sigma)
    cmap = plt.get_cmap(cmap or ("tab10" if q <= 10 else "tab20" if q <= 20 else "viridis"))
    species = np.asarray(model.species)
    colours = cmap(species % cmap.N if cmap.N < 256 else species / max(q - 1, 1))
    discs = PatchCollection([Circle(p, 0.5 * sigma) for p in x[:, :2]], facecolor=colours,
                            edgecolor="k", linewidth=0.5)  # fmt: skip
    ax.add_collection(discs)
    if highlight is not None and len(highlight):
        ring = [Circle(p, 0.5 * sigma) for p in x[np.asarray(highlight), :2]]
        ax.add_collection(PatchCollection(ring, facecolor="none", edgecolor="k", linewidth=2))
    angle = x[:, 2:3] + 2 * np.pi * np.arange(K) / K  # (n, K)
    tips = x[:, None, :2] + 0.5 * sigma * np.stack([np.cos(angle), np.sin(angle)], -1)
    centres = np.broadcast_to(x[:, None, :2], tips.shape)
    ax.add_collection(LineCollection(np.stack([centres, tips], 2).reshape(-1, 2, 2),
                                     colors="k", linewidths=1.0))  # fmt: skip
    if bonds:
        partners = np.asarray(model.patch_bonds(x))
        i, d = np.nonzero(partners[:, : K // 2] >= 0)
        seg = np.stack([x[i, :2], x[partners[i, d], :2]], 1)
        near = np.linalg.norm(seg[:, 0] - seg[:, 1], axis=-1) < 2 * sigma
        ax.add_collection(LineCollection(seg[near], colors="0.4", linewidths=2.5, zorder=0))
    ax.set_xlim(0, model.box[0])
    ax.set_ylim(0, model.box[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
