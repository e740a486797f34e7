"""Smoke run of cluster_design through the harness: every record the issue lists, for
every estimator, with sane values."""

from benchmarks import cluster_design


def test_cluster_design_smoke(smoke_records):
    records = smoke_records(cluster_design.NAME)
    by = {}
    for r in records:
        by.setdefault(r["metric"], {})[r["params"]["estimator"]] = r
        assert {"estimator", "T", "N", "dim"} <= set(r["params"])
    for metric in ("gradient_variance", "grad_wall_s", "model_evaluations", "final_yield"):
        assert set(by[metric]) == set(cluster_design.ESTIMATORS), metric
    assert all(r["value"] >= 0 for r in by["gradient_variance"].values())
    assert all(-1 <= r["value"] <= 1 for r in by["cosine_to_equilibrium"].values())
    assert all(r["value"] > 0 for r in by["grad_wall_s"].values())
    # A reverse pass through a checkpointed trajectory costs 3 evaluations per step.
    evals = {k: r["value"] for k, r in by["model_evaluations"].items()}
    assert evals["trajectory"] > 2 * evals["fluctuation"]
