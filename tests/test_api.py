"""The public API for notebooks: the same lake, validation and answers as the CLI."""

import pandas as pd
import pyarrow as pa
import pytest

import vibes_core as vc
from tests.conftest import run_vibes


def cohorts(counts: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": ["a", "b"] * (len(counts) // 2),
            "events": counts,
            "exposure": [2.0] * len(counts),
        }
    )


@pytest.mark.mcmc
def test_create_upload_read_and_fit_from_python(home):
    created = vc.create("rates", "poisson-cohorts", cohorts([1, 5, 2, 6]), display_name="Rates")
    assert created["events"] == 4 and created["display_name"] == "Rates"
    arrow = pa.table({"cohort": ["a", "b"], "events": [3, 7]})  # exposure takes its default
    assert vc.upload("rates", arrow)["events"] == 6
    assert [(e["name"], e["events"]) for e in vc.experiments()] == [("rates", 6)]
    sums = vc.events("rates").group_by("cohort").agg(total=lambda t: t.events.sum())
    assert dict(sums.to_pandas().values.tolist()) == {"a": 6, "b": 18}
    exact = vc.fit("rates", exact=True)
    assert exact["method"] == "exact" and "b has the highest rate" in exact["decision"]
    fitted = vc.fit("rates", draws=200, tune=200, chains=2)
    assert fitted["method"] == "mcmc" and not fitted["cached"]
    # The CLI sees what Python wrote, and the fit Python cached.
    assert run_vibes(
        "posterior", "rates", "--json", "--draws", 200, "--tune", 200, "--chains", 2
    ).json()["cached"]


def test_mistakes_are_vibes_errors_that_say_what_to_do(home):
    with pytest.raises(vc.VibesError, match="the table given: unknown column"):
        vc.create("rates", "poisson-cohorts", pd.DataFrame({"x": [1]}))
    with pytest.raises(vc.VibesError, match="pass a pandas DataFrame or a pyarrow Table"):
        vc.create("rates", "poisson-cohorts", 42)
    with pytest.raises(vc.VibesError, match="no experiment named 'nope'"):
        vc.events("nope")
    with pytest.raises(vc.VibesError, match="does not apply"):
        vc.create("rates", "poisson-cohorts", cohorts([1, 2]))
        vc.fit("rates", exact=True, threshold=0.5)
    assert [e["name"] for e in vc.experiments()] == ["rates"]
