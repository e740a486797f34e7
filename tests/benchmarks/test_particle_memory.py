"""The particle_memory benchmark at smoke size: every record the issue names, with its
exact params, for both rules and every m; fractions are fractions."""

import pytest

from benchmarks import particle_memory


@pytest.mark.slow  # five compiles (recall, lattice, thermalisation, PCD): 35-130 s
def test_smoke_run_emits_every_record(smoke_records):
    recs = smoke_records(particle_memory.NAME)
    size = particle_memory.SIZES["smoke"]
    for metric in ("recall_success", "lattice_recall_success"):
        mine = [r for r in recs if r["metric"] == metric]
        got = {(r["params"]["rule"], r["params"]["m"]) for r in mine}
        assert got == {(rule, m) for rule in particle_memory.RULES for m in size["ms"]}
        for r in mine:
            assert r["learner"] == "molcomp" and r["kind"] == "physical"
            assert r["params"]["N"] == size["N"]
            assert 0.0 <= r["value"] <= 1.0 and r["higher_is_better"]
            assert all(isinstance(v, str | int | float) for v in r["params"].values()), r
            if metric == "recall_success":  # per-run outcomes agree with the fraction
                runs = size["runs"] * r["params"]["m"]
                wins = [int(x) for x in r["params"]["successes"].split(",")]
                cross = [int(x) for x in r["params"]["crosstalk_bonds"].split(",")]
                assert len(wins) == len(cross) == runs and set(wins) <= {0, 1}
                assert sum(wins) / runs == pytest.approx(r["value"]) and min(cross) >= 0
