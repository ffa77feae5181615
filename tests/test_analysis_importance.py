"""Relative weights (Johnson 2000; rwa), dominance / LMG, question importance.

Reference numbers come from the R package ``rwa`` (Martin Chan), published output:

* README (https://github.com/martinctc/rwa, "Basic example"):
  ``rwa(mtcars, outcome = "mpg", predictors = c("cyl", "disp", "hp", "gear"), applysigns = TRUE)``
  → rsquare 0.7791896; Raw.RelWeight cyl 0.2284797, disp 0.2221469, hp 0.2321744,
  gear 0.0963886; Rescaled.RelWeight 29.32274, 28.50999, 29.79691, 12.37037; signs - - - +.
* vignette "Regression Methods" (articles/regression-methods.md):
  ``rwa_multiregress(mtcars, "mpg", c("cyl", "disp", "hp", "wt"))`` → raw 0.2096904,
  0.1883043, 0.1799590, 0.2706812; rescaled 24.70914, 22.18908, 21.20570, 31.89607;
  R² 0.8486; and ``rwa_logit`` on ``high_mpg = mpg > median(mpg)`` with the same predictors →
  rescaled 22.22380, 22.36653, 15.03663, 40.37304, all signs "-".

mtcars is R's ``datasets::mtcars`` (Henderson & Velleman 1981), embedded below.
"""

from __future__ import annotations

import io
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from milo_analytics.analysis import dominance_analysis, question_importance, relative_weights
from milo_analytics.analysis._common import synthetic_interview_data
from milo_analytics.errors import DataError, InsufficientDataError

MTCARS_CSV = """model,mpg,cyl,disp,hp,drat,wt,qsec,vs,am,gear,carb
Mazda RX4,21.0,6,160.0,110,3.90,2.620,16.46,0,1,4,4
Mazda RX4 Wag,21.0,6,160.0,110,3.90,2.875,17.02,0,1,4,4
Datsun 710,22.8,4,108.0,93,3.85,2.320,18.61,1,1,4,1
Hornet 4 Drive,21.4,6,258.0,110,3.08,3.215,19.44,1,0,3,1
Hornet Sportabout,18.7,8,360.0,175,3.15,3.440,17.02,0,0,3,2
Valiant,18.1,6,225.0,105,2.76,3.460,20.22,1,0,3,1
Duster 360,14.3,8,360.0,245,3.21,3.570,15.84,0,0,3,4
Merc 240D,24.4,4,146.7,62,3.69,3.190,20.00,1,0,4,2
Merc 230,22.8,4,140.8,95,3.92,3.150,22.90,1,0,4,2
Merc 280,19.2,6,167.6,123,3.92,3.440,18.30,1,0,4,4
Merc 280C,17.8,6,167.6,123,3.92,3.440,18.90,1,0,4,4
Merc 450SE,16.4,8,275.8,180,3.07,4.070,17.40,0,0,3,3
Merc 450SL,17.3,8,275.8,180,3.07,3.730,17.60,0,0,3,3
Merc 450SLC,15.2,8,275.8,180,3.07,3.780,18.00,0,0,3,3
Cadillac Fleetwood,10.4,8,472.0,205,2.93,5.250,17.98,0,0,3,4
Lincoln Continental,10.4,8,460.0,215,3.00,5.424,17.82,0,0,3,4
Chrysler Imperial,14.7,8,440.0,230,3.23,5.345,17.42,0,0,3,4
Fiat 128,32.4,4,78.7,66,4.08,2.200,19.47,1,1,4,1
Honda Civic,30.4,4,75.7,52,4.93,1.615,18.52,1,1,4,2
Toyota Corolla,33.9,4,71.1,65,4.22,1.835,19.90,1,1,4,1
Toyota Corona,21.5,4,120.1,97,3.70,2.465,20.01,1,0,3,1
Dodge Challenger,15.5,8,318.0,150,2.76,3.520,16.87,0,0,3,2
AMC Javelin,15.2,8,304.0,150,3.15,3.435,17.30,0,0,3,2
Camaro Z28,13.3,8,350.0,245,3.73,3.840,15.41,0,0,3,4
Pontiac Firebird,19.2,8,400.0,175,3.08,3.845,17.05,0,0,3,2
Fiat X1-9,27.3,4,79.0,66,4.08,1.935,18.90,1,1,4,1
Porsche 914-2,26.0,4,120.3,91,4.43,2.140,16.70,0,1,5,2
Lotus Europa,30.4,4,95.1,113,3.77,1.513,16.90,1,1,5,2
Ford Pantera L,15.8,8,351.0,264,4.22,3.170,14.50,0,1,5,4
Ferrari Dino,19.7,6,145.0,175,3.62,2.770,15.50,0,1,5,6
Maserati Bora,15.0,8,301.0,335,3.54,3.570,14.60,0,1,5,8
Volvo 142E,21.4,4,121.0,109,4.11,2.780,18.60,1,1,4,2
"""


@pytest.fixture(scope="module")
def mtcars() -> pd.DataFrame:
    m = pd.read_csv(io.StringIO(MTCARS_CSV))
    assert m.shape == (32, 12)
    assert m["mpg"].mean() == pytest.approx(20.090625)  # R: mean(mtcars$mpg)
    return m


def test_rwa_readme_example(mtcars):
    # rwa README: rwa(mtcars, "mpg", c("cyl", "disp", "hp", "gear"), applysigns = TRUE)
    rw = relative_weights(mtcars[["cyl", "disp", "hp", "gear"]], mtcars["mpg"])
    assert list(rw.columns) == ["raw_weight", "rescaled_weight", "sign"]
    assert rw.index.name == "predictor"
    assert rw.attrs["r2"] == pytest.approx(0.7791896, abs=5e-8)
    assert rw["raw_weight"].tolist() == pytest.approx(
        [0.2284797, 0.2221469, 0.2321744, 0.0963886], abs=5e-8
    )
    assert rw["rescaled_weight"].tolist() == pytest.approx(
        [29.32274, 28.50999, 29.79691, 12.37037], abs=5e-6
    )
    assert rw["sign"].tolist() == ["-", "-", "-", "+"]
    assert rw["rescaled_weight"].sum() == pytest.approx(100)
    assert rw["raw_weight"].sum() == pytest.approx(rw.attrs["r2"])


def test_rwa_vignette_multiregress_example(mtcars):
    # rwa vignette "Regression Methods": rwa_multiregress(mtcars, "mpg", c(cyl, disp, hp, wt))
    rw = relative_weights(mtcars[["cyl", "disp", "hp", "wt"]], mtcars["mpg"])
    assert rw["raw_weight"].tolist() == pytest.approx(
        [0.2096904, 0.1883043, 0.1799590, 0.2706812], abs=5e-8
    )
    assert rw["rescaled_weight"].tolist() == pytest.approx(
        [24.70914, 22.18908, 21.20570, 31.89607], abs=5e-6
    )
    assert round(rw.attrs["r2"], 4) == 0.8486
    assert rw.attrs["method"] == "linear" and rw.attrs["n"] == 32


def test_rwa_vignette_logistic_example(mtcars):
    # rwa vignette "Regression Methods": rwa_logit(high_mpg ~ cyl, disp, hp, wt).
    # mtcars' high_mpg is completely separated by these predictors, so the logistic MLE does
    # not exist and raw weights depend on where IRLS stops; the rescaled shares are stable
    # and are what we compare (we also warn about the separation).
    y = (mtcars["mpg"] > mtcars["mpg"].median()).astype(int)
    with pytest.warns(RuntimeWarning, match="separated"):
        rw = relative_weights(mtcars[["cyl", "disp", "hp", "wt"]], y)
    assert rw.attrs["method"] == "logistic"
    assert rw["rescaled_weight"].tolist() == pytest.approx(
        [22.22380, 22.36653, 15.03663, 40.37304], abs=5e-5
    )
    assert rw["sign"].tolist() == ["-", "-", "-", "-"]


def test_logistic_relative_weights_on_well_behaved_binary_outcome():
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "c"])
    X["b"] += 0.5 * X["a"]
    p = 1 / (1 + np.exp(-(1.2 * X["a"] + 0.4 * X["b"] - 0.1 * X["c"])))
    y = rng.uniform(size=3000) < p
    rw = relative_weights(X, y)  # bool outcome -> logistic
    assert rw.attrs["method"] == "logistic"
    assert rw["rescaled_weight"].sum() == pytest.approx(100)
    assert rw["rescaled_weight"].idxmax() == "a"
    assert rw.loc["c", "rescaled_weight"] < rw.loc["b", "rescaled_weight"]
    assert 0 < rw.attrs["r2"] < 1
    lin = relative_weights(X, y.astype(float), method="linear")
    assert lin.attrs["method"] == "linear"


def test_relative_weights_bootstrap_ci_brackets_estimate(mtcars):
    rw = relative_weights(mtcars[["cyl", "disp", "hp", "wt"]], mtcars["mpg"], n_boot=300, seed=1)
    assert {"ci_low", "ci_high", "rescaled_ci_low", "rescaled_ci_high"} <= set(rw.columns)
    assert (rw["ci_low"] <= rw["raw_weight"]).all() and (rw["raw_weight"] <= rw["ci_high"]).all()
    # rwa's published bootstrap (vignette, n_bootstrap = 1000): wt raw CI [0.196, 0.333]
    assert rw.loc["wt", "ci_low"] == pytest.approx(0.196, abs=0.03)
    assert rw.loc["wt", "ci_high"] == pytest.approx(0.333, abs=0.03)
    again = relative_weights(mtcars[["cyl", "disp", "hp", "wt"]], mtcars["mpg"], n_boot=300, seed=1)
    pd.testing.assert_frame_equal(rw, again)


def test_relative_weights_parallel_equals_serial(mtcars):
    X, y = mtcars[["cyl", "disp", "hp", "wt"]], mtcars["mpg"]
    a = relative_weights(X, y, n_boot=100, seed=3)
    b = relative_weights(X, y, n_boot=100, seed=3, n_jobs=2)
    pd.testing.assert_frame_equal(a, b)


def _shapley_bruteforce(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """LMG by averaging R² increments over all orderings (independent of the subset code)."""
    k = X.shape[1]

    def r2(cols: tuple[int, ...]) -> float:
        if not cols:
            return 0.0
        A = np.column_stack([np.ones(len(y)), X[:, cols]])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        res = y - A @ coef
        return 1 - res @ res / ((y - y.mean()) @ (y - y.mean()))

    out = np.zeros(k)
    for perm in itertools.permutations(range(k)):
        seen: tuple[int, ...] = ()
        for j in perm:
            out[j] += r2(tuple(sorted((*seen, j)))) - r2(seen)
            seen = (*seen, j)
    return out / math.factorial(k)


def test_dominance_matches_bruteforce_shapley(mtcars):
    cols = ["cyl", "disp", "hp", "wt"]
    d = dominance_analysis(mtcars[cols], mtcars["mpg"])
    ref = _shapley_bruteforce(mtcars[cols].to_numpy(float), mtcars["mpg"].to_numpy(float))
    assert d["lmg"].to_numpy() == pytest.approx(ref, abs=1e-10)
    assert d["lmg"].sum() == pytest.approx(0.8486348, abs=1e-6)  # full-model R² (rwa vignette)
    assert d["rescaled_lmg"].sum() == pytest.approx(100)


def test_dominance_two_predictors_closed_form():
    # With two predictors, LMG_1 = (r²_y1 + (R² − r²_y2)) / 2 (Budescu 1993).
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 2)), columns=["a", "b"])
    X["b"] += 0.6 * X["a"]
    y = X["a"] + 0.5 * X["b"] + rng.normal(size=500)
    d = dominance_analysis(X, y)
    r1, r2 = np.corrcoef(X["a"], y)[0, 1] ** 2, np.corrcoef(X["b"], y)[0, 1] ** 2
    full = d.attrs["r2"]
    assert d.loc["a", "lmg"] == pytest.approx((r1 + full - r2) / 2)
    assert d.loc["b", "lmg"] == pytest.approx((r2 + full - r1) / 2)


def test_dominance_bootstrap_and_limits():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc"))
    y = X["a"] + rng.normal(size=300)
    d = dominance_analysis(X, y, n_boot=100)
    assert (d["ci_low"] <= d["lmg"]).all() and (d["lmg"] <= d["ci_high"]).all()
    wide = pd.DataFrame(rng.normal(size=(100, 16)))
    wide.columns = [f"q{i}" for i in range(16)]
    with pytest.raises(DataError, match="limit is 15"):
        dominance_analysis(wide, rng.normal(size=100))


def test_importance_input_errors():
    X = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [3.0, 3, 3, 3, 3]})
    with pytest.raises(DataError, match="no variance"):
        relative_weights(X, [1, 2, 3, 4, 6])
    with pytest.raises(InsufficientDataError, match="complete rows"):
        relative_weights(pd.DataFrame({"a": [1.0, 2], "b": [2.0, 1]}), [1, 2])
    with pytest.raises(DataError, match="rows"):
        relative_weights(pd.DataFrame({"a": [1.0, 2, 3, 5]}), [1, 2])
    with pytest.raises(DataError, match="0/1"):
        relative_weights(pd.DataFrame({"a": [1.0, 2, 3, 5]}), [1, 2, 3, 4], method="logistic")
    # missing values are dropped listwise and counted
    Xm = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6, np.nan], "b": [2.0, 1, 4, 3, 6, 5, 1]})
    rw = relative_weights(Xm, [1, 2, 3, 4, 5, 7, 1])
    assert rw.attrs["n"] == 6 and rw.attrs["n_dropped"] == 1


def test_question_importance_on_interview_data():
    data, truth = synthetic_interview_data(800, 4, seed=11)
    ability = truth["ability"]
    wide = data.score_matrix()
    # the outcome depends on question 4 only
    y = (wide["P1-q4"] + np.random.default_rng(2).normal(scale=0.5, size=len(wide))) > 3.5
    outcomes = pd.DataFrame({"interview_id": wide.index, "hired": y.to_numpy()})
    res = question_importance(data, outcomes, n_boot=60)
    t = res.table.set_index("question_id")
    assert t["rescaled_weight"].idxmax() == "P1-q4"
    assert t["rescaled_lmg"].idxmax() == "P1-q4"
    assert t.loc["P1-q4", "r_p"] < 0.05
    assert (t["rw_ci_low"] <= t["rescaled_weight"]).all()
    fig = res.plot()
    assert len(fig.data) == 2 and fig.data[0].error_y.array is not None
    assert len(ability) == 800
    with pytest.raises(DataError, match="target"):
        question_importance(data, outcomes, target="performance")
