"""Matplotlib picture of a lattice configuration: species as colours, empty sites blank."""

from __future__ import annotations

import numpy as np

from .lattice._lattice import Lattice

_GOLDEN = 0.6180339887498949


def plot_configuration(
    lattice,
    config,
    *,
    ax=None,
    outline=None,
    empty_state: int | None = None,
    n_species: int | None = None,
    cmap=None,
):
    """Draw one configuration of a 2D lattice or a graph.

    Square lattices are drawn as coloured cells; triangular lattices and graphs as
    coloured markers at `lattice.coords()` with their bonds as thin lines (periodic
    wrap-around bonds are left out). Empty sites are not drawn.

    **Arguments:**

    - `lattice`: a `Lattice`, or a model (then `empty_state` and `n_species` default to
      the model's).
    - `config`: one state index per site, shape `(n_sites,)`.
    - `ax`: the matplotlib Axes to draw on (default: a new figure).
    - `outline`: optional boolean mask `(n_sites,)` of a stored structure; its outline
      is drawn on top (cell edges between marked and unmarked cells on square
      lattices, a contour around the marked sites otherwise).
    - `empty_state`: the state index drawn blank (`model.empty_state`), or None.
    - `n_species`: number of species colours (default: largest species index + 1).
      Fix it to give the same species the same colour across plots.
    - `cmap`: a colormap or its name. Default: "tab10"/"tab20" up to 20 species,
      otherwise "turbo" with species scattered along it by a golden-ratio step, so
      that species with nearby indices get distinct colours (works for q = 1600).

    **Returns:** the Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    lat, empty_state, n_species = _unpack(lattice, empty_state, n_species)
    if len(lat.shape) != 2 and lat.kind != "graph":
        raise ValueError(f"lattice must be 2D or a graph to plot, got a {lat.kind} lattice")
    n = lat.n_sites
    cfg = _check_config(config, n)
    blank = cfg == empty_state if empty_state is not None else np.zeros(n, bool)
    species = np.where(blank, 0, cfg)
    n_col = int(species.max()) + 1 if n_species is None else int(n_species)
    if species.max() >= n_col:
        raise ValueError(f"config holds species {species.max()} but n_species={n_col}")
    rgba = _species_colours(cmap, n_col)[species]
    rgba[blank] = 0.0  # fully transparent: the axes background shows through
    mask = None if outline is None else _check_outline(outline, n)

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    xy = lat.coords()
    if lat.kind == "square":
        rows, cols = lat.shape
        # Site index = row * cols + col and coords are (col, row): draw row 0 at the bottom.
        ax.imshow(
            rgba.reshape(rows, cols, 4),
            origin="lower",
            extent=(-0.5, cols - 0.5, -0.5, rows - 0.5),
            interpolation="nearest",
        )
        if mask is not None:
            segs = _cell_outline(mask.reshape(rows, cols))
            ax.add_collection(LineCollection(segs, colors="k", linewidths=2.0, zorder=3))
    else:
        edges = lat.edges()
        seg = xy[edges]  # (bonds, 2, 2)
        length = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)
        if lat.kind != "graph":
            seg = seg[length < 1.5]  # drop periodic wrap-around bonds
        ax.add_collection(LineCollection(seg, colors="0.6", linewidths=0.5, zorder=1))
        size = max(4.0, min(200.0, 20000.0 / n))
        keep = ~blank
        ax.scatter(xy[keep, 0], xy[keep, 1], c=rgba[keep], s=size, zorder=2, linewidths=0)
        spacing = 1.0 if lat.kind != "graph" else _spacing(seg)
        pad = 0.6 * spacing  # room for markers and for a contour half a bond outside
        ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
        ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
        if mask is not None and mask.any():
            _contour(ax, xy, mask, spacing)
    return ax


def _unpack(obj, empty_state, n_species):
    if isinstance(obj, Lattice):
        return obj, empty_state, n_species
    lat = getattr(obj, "lattice", None)
    if not isinstance(lat, Lattice):
        raise TypeError(f"lattice must be a molcomp Lattice or model, got {type(obj).__name__}")
    if empty_state is None:
        empty_state = obj.empty_state
    if n_species is None:
        n_species = obj.q
    return lat, empty_state, n_species


def _check_config(config, n: int) -> np.ndarray:
    cfg = np.asarray(config)
    if cfg.shape != (n,):
        raise ValueError(f"config must have shape ({n},) for this lattice, got {cfg.shape}")
    if not np.issubdtype(cfg.dtype, np.integer):
        raise TypeError(f"config must hold integer state indices, got dtype {cfg.dtype}")
    if cfg.min() < 0:
        raise ValueError(f"config holds a negative state index {cfg.min()}")
    return cfg.astype(np.int64)


def _check_outline(outline, n: int) -> np.ndarray:
    mask = np.asarray(outline)
    if mask.shape != (n,):
        raise ValueError(f"outline must be a boolean mask of shape ({n},), got {mask.shape}")
    if mask.dtype != bool:
        raise TypeError(f"outline must be a boolean mask, got dtype {mask.dtype}")
    return mask


def _species_colours(cmap, n: int) -> np.ndarray:
    """(n, 4) RGBA per species."""
    import matplotlib

    if cmap is None:
        cmap = "tab10" if n <= 10 else "tab20" if n <= 20 else "turbo"
    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    if isinstance(cm, matplotlib.colors.ListedColormap) and cm.N >= n and n <= 20:
        return np.asarray(cm(np.arange(n)), np.float64)  # categorical: one entry each
    pos = (np.arange(n) + 0.5) / n if n <= 20 else (np.arange(n) * _GOLDEN) % 1.0
    # Interpolate the colormap's table so that more species than entries stay distinct.
    grid = np.linspace(0.0, 1.0, cm.N)
    lut = np.asarray(cm(grid), np.float64)
    return np.stack([np.interp(pos, grid, lut[:, c]) for c in range(4)], axis=1)


def _cell_outline(mask: np.ndarray) -> np.ndarray:
    """Unit segments between marked and unmarked (or outside) cells, (m, 2, 2) in (x, y)."""
    padded = np.pad(mask, 1)
    segs = []
    r, c = np.nonzero(mask)
    for dr, dc, a, b in (
        (1, 0, (-0.5, 0.5), (0.5, 0.5)),  # top side of the cell (next row is +y)
        (-1, 0, (-0.5, -0.5), (0.5, -0.5)),
        (0, 1, (0.5, -0.5), (0.5, 0.5)),
        (0, -1, (-0.5, -0.5), (-0.5, 0.5)),
    ):
        side = ~padded[r + 1 + dr, c + 1 + dc]
        x, y = c[side], r[side]
        segs.append(
            np.stack([np.stack([x + a[0], y + a[1]], 1), np.stack([x + b[0], y + b[1]], 1)], 1)
        )
    return np.concatenate(segs, axis=0).astype(np.float64)


def _spacing(seg: np.ndarray) -> float:
    if len(seg) == 0:
        return 0.1
    return float(np.median(np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)))


def _contour(ax, xy: np.ndarray, mask: np.ndarray, spacing: float):
    """Contour at level 1/2 of the site mask over a Delaunay triangulation, with a ring
    of unmarked ghost points around the sites so the contour always closes."""
    import matplotlib.tri as mtri

    lo, hi = xy.min(axis=0) - spacing, xy.max(axis=0) + spacing
    nx_, ny_ = (np.ceil((hi - lo) / spacing).astype(int) + 1).tolist()
    gx, gy = np.linspace(lo[0], hi[0], nx_), np.linspace(lo[1], hi[1], ny_)
    ring = np.concatenate(
        [
            np.stack([gx, np.full(nx_, lo[1])], 1),
            np.stack([gx, np.full(nx_, hi[1])], 1),
            np.stack([np.full(ny_ - 2, lo[0]), gy[1:-1]], 1),
            np.stack([np.full(ny_ - 2, hi[0]), gy[1:-1]], 1),
        ]
    )
    pts = np.concatenate([xy, ring])
    values = np.concatenate([mask.astype(np.float64), np.zeros(len(ring))])
    tri = mtri.Triangulation(pts[:, 0], pts[:, 1])
    return ax.tricontour(tri, values, levels=[0.5], colors="k", linewidths=2.0, zorder=3)
