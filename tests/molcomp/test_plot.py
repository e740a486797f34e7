"""plot_configuration: rendered pixels, outlines, many species and shape errors."""

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot

import matplotlib.image as mimage  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import molcomp  # noqa: E402
from molcomp import interactions, lattice  # noqa: E402

EMPTY = 3  # three species (0, 1, 2) plus the empty state


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render(tmp_path, ax, name):
    """Save the figure as PNG and return (rgb image, pixel (row, col) of each site)."""
    fig = ax.figure
    fig.canvas.draw()
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi="figure")
    img = mimage.imread(path)[..., :3]
    return img, fig


def _pixels(ax, xy, height):
    disp = ax.transData.transform(xy)
    return np.round(height - disp[:, 1] - 0.5).astype(int), np.round(disp[:, 0] - 0.5).astype(int)


def _config(n, seed):
    rng = np.random.default_rng(seed)
    cfg = rng.integers(0, EMPTY + 1, n)
    cfg[:3] = EMPTY  # at least some empty sites, and some species below
    cfg[3:6] = [0, 1, 2]
    return cfg


def test_square_empty_sites_are_blank(tmp_path):
    lat = lattice.square((5, 7), periodic=False)
    cfg = _config(lat.n_sites, 0)
    fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
    assert molcomp.plot_configuration(lat, cfg, ax=ax, empty_state=EMPTY) is ax
    img, fig = _render(tmp_path, ax, "square")
    r, c = _pixels(ax, lat.coords(), img.shape[0])
    centre = img[r, c]
    white = np.all(centre > 0.99, axis=1)
    np.testing.assert_array_equal(white, cfg == EMPTY)
    # Occupied cells show their species' colour (tab10 entries, none white).
    tab10 = np.asarray(matplotlib.colormaps["tab10"].colors)
    occupied = cfg != EMPTY
    np.testing.assert_allclose(centre[occupied], tab10[cfg[occupied]], atol=2 / 255)


def test_triangular_markers_skip_empty_sites(tmp_path):
    lat = lattice.triangular(4)
    cfg = _config(lat.n_sites, 1)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=80)
    molcomp.plot_configuration(lat, cfg, ax=ax, empty_state=EMPTY)
    (points,) = ax.collections[1:]  # bonds first, then the markers
    assert len(points.get_offsets()) == np.sum(cfg != EMPTY)
    img, fig = _render(tmp_path, ax, "triangular")
    r, c = _pixels(ax, lat.coords(), img.shape[0])
    tab10 = np.asarray(matplotlib.colormaps["tab10"].colors)[:EMPTY]
    dist = np.abs(img[r, c][:, None, :] - tab10[None]).max(axis=2).min(axis=1)
    has_species_colour = dist < 2 / 255
    np.testing.assert_array_equal(has_species_colour, cfg != EMPTY)


def test_model_supplies_empty_state():
    model = molcomp.PottsModel(lattice.square(3), interactions.potts(1.0, q=3), empty=True)
    cfg = _config(9, 2)
    ax = molcomp.plot_configuration(model, cfg)
    (image,) = ax.get_images()
    alpha = np.asarray(image.get_array())[..., 3].ravel()
    np.testing.assert_array_equal(alpha == 0, cfg == model.empty_state)


@pytest.mark.parametrize(
    "cells, perimeter",
    [
        ([(2, 2)], 4),  # one interior cell: four sides
        ([(0, 0)], 4),  # a corner cell: two sides on the lattice border still count
        ([(1, 1), (1, 2), (2, 1), (2, 2)], 8),  # 2 x 2 block
        ([(1, 1), (1, 2), (2, 1)], 8),  # L-tromino
        ([(1, 1), (3, 3)], 8),  # two separate cells
    ],
)
def test_square_outline_segments(cells, perimeter):
    lat = lattice.square(5, periodic=False)
    mask = np.zeros((5, 5), bool)
    for rc in cells:
        mask[rc] = True
    ax = molcomp.plot_configuration(lat, np.zeros(25, int), outline=mask.ravel())
    (lines,) = ax.collections
    segs = np.asarray(lines.get_segments())
    assert len(segs) == perimeter
    np.testing.assert_allclose(np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1), 1.0)
    # Every segment lies on a cell boundary (half-integer coordinates on one axis).
    assert np.all(np.isclose(segs % 1.0, 0.5).any(axis=2))


def test_triangular_outline_encloses_marked_sites():
    lat = lattice.triangular(6, periodic=False)
    xy = lat.coords()
    mask = np.linalg.norm(xy - xy[21], axis=1) < 1.1  # site 21 and its six neighbours
    assert mask.sum() == 7
    ax = molcomp.plot_configuration(lat, np.zeros(lat.n_sites, int), outline=mask)
    paths = ax.collections[-1].get_paths()
    inside = np.zeros(lat.n_sites, bool)
    for path in paths:
        for poly in path.to_polygons():
            inside |= matplotlib.path.Path(poly).contains_points(xy)
    np.testing.assert_array_equal(inside, mask)


def test_many_species_get_distinct_colours():
    lat = lattice.square(40, periodic=False)
    cfg = np.random.default_rng(3).permutation(1600)
    ax = molcomp.plot_configuration(lat, cfg)
    (image,) = ax.get_images()
    rgba = np.asarray(image.get_array()).reshape(-1, 4)
    assert len(np.unique(rgba, axis=0)) == 1600


def test_bad_inputs():
    lat = lattice.square(3)
    with pytest.raises(ValueError, match="config must have shape"):
        molcomp.plot_configuration(lat, np.zeros(10, int))
    with pytest.raises(ValueError, match="config must have shape"):
        molcomp.plot_configuration(lat, np.zeros((3, 3), int))
    with pytest.raises(TypeError, match="config"):
        molcomp.plot_configuration(lat, np.zeros(9))
    with pytest.raises(ValueError, match="outline"):
        molcomp.plot_configuration(lat, np.zeros(9, int), outline=np.ones(8, bool))
    with pytest.raises(TypeError, match="outline"):
        molcomp.plot_configuration(lat, np.zeros(9, int), outline=np.ones(9))
    with pytest.raises(ValueError, match="n_species"):
        molcomp.plot_configuration(lat, np.arange(9), n_species=4)
    with pytest.raises(ValueError, match="2D"):
        molcomp.plot_configuration(lattice.cubic(3), np.zeros(27, int))
    with pytest.raises(TypeError, match="lattice"):
        molcomp.plot_configuration("square", np.zeros(9, int))
