"""The paper's tables, claims and figures by hand (``igde_stream.paper``: tables, figures, evaluate):
made-up rows with numbers exact in binary, so every mean, spread and bound is checked to the digit;
no training or evaluation run (mutation campaign 59b)."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

from igde_stream.paper import tables
from igde_stream.paper.evaluate import _budget_note
from igde_stream.paper.figures import _crop_box

NAN = math.nan
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _m(psnr, frames=6, **kw):
    """One method's metrics, the others derived from ``psnr`` so that each mean is known."""
    return {"psnr": psnr, "psnr_t": psnr + 10, "psnr_f": psnr - 10, "ssim": psnr / 100, "rmse": 100 / psnr,
            "temporal": psnr / 50, "ms_per_frame": psnr * 2, "frames": frames, **kw}


# ---- rows ---------------------------------------------------------------------------------------

def test_tags_put_the_plain_key_first_then_seeds_in_number_order():
    results = {"igde@10": {}, "igde@2": {}, "igde-l1@0": {}, "igde": {}, "decnn@1": {}}
    records = {"igde@0": {}, "igde-l1@5": {}}
    assert tables._tags("igde", results, records) == ["igde", "igde@0", "igde@2", "igde@10"]
    assert tables._tags("igde-l1", results) == ["igde-l1@0"]
    assert tables._tags("rdn-depth", results, records) == []


def test_a_filter_row_takes_its_metrics_as_they_are():
    row = tables._row("guided filter", "filter:guided", {"filter:guided": _m(25.0, frames=48)}, {})
    assert row == {"method": "guided filter", "psnr": 25.0, "psnr_t": 35.0, "psnr_f": 15.0, "ssim": 0.25,
                   "rmse": 4.0, "temporal": 0.5, "key": "filter:guided", "frames": 48, "steps": 0, "seed": None,
                   "ms_per_frame": 50.0}
    empty = tables._row("guided filter", "filter:guided", {}, {})
    assert empty["frames"] == 0 and empty["steps"] == 0 and empty["seed"] is None
    assert all(math.isnan(empty[k]) for k in ("psnr", "psnr_t", "psnr_f", "ssim", "rmse", "temporal", "ms_per_frame"))


def test_a_learned_row_of_three_seeds_is_the_mean_of_those_evaluated():
    """Seeds 0, 1, 2 trained, 0 and 2 evaluated: metrics are the mean of seeds 0 and 2, the spread
    theirs, the seeds all three, the steps the one common count, frames those of the first result."""
    results = {"igde@0": _m(20.0, frames=12), "igde@2": _m(25.0, frames=12), "igde-l1@1": _m(40.0)}
    records = {f"igde@{s}": {"seed": s, "steps": 800, "model": "igde-small", "loss_weights": [1, 1, 1]}
               for s in (0, 1, 2)}
    row = tables._row("IGDE", "igde", results, records)
    assert row["psnr"] == 22.5 and row["psnr_t"] == 32.5 and row["psnr_f"] == 12.5
    assert row["ssim"] == 0.225 and row["rmse"] == pytest.approx((5 + 4) / 2) and row["temporal"] == 0.45
    assert row["ms_per_frame"] == 45.0 and row["frames"] == 12
    assert row["seed"] == [0, 1, 2] and row["steps"] == 800
    assert row["psnr_per_seed"] == {"0": 20.0, "2": 25.0} and row["psnr_seed_spread"] == 5.0
    assert row["model"] == "igde-small" and row["loss_weights"] == [1, 1, 1] and row["trained"] is True
    assert row["method"] == "IGDE" and row["key"] == "igde"


def test_a_learned_row_of_one_seed_and_unequal_steps():
    results = {"igde@3": _m(30.0, frames=5)}
    one = tables._row("IGDE", "igde", results, {"igde@3": {"seed": 3, "steps": 700}})
    assert one["seed"] == 3 and one["steps"] == 700 and one["psnr"] == 30.0 and one["frames"] == 5
    assert one["psnr_seed_spread"] is None and one["psnr_per_seed"] == {"3": 30.0}
    two = tables._row("IGDE", "igde", {"igde@0": _m(30.0), "igde@1": _m(31.0)},
                      {"igde@0": {"seed": 0, "steps": 900}, "igde@1": {"seed": 1, "steps": 700}})
    assert two["steps"] == [700, 900] and two["psnr_seed_spread"] == 1.0
    # a result without a frame count: 0 frames, as for a filter row
    assert tables._row("IGDE", "igde", {"igde@0": {"psnr": 30.0}}, {})["frames"] == 0
    assert tables._row("guided filter", "filter:guided", {"filter:guided": {"psnr": 30.0}}, {})["frames"] == 0
    # an older result: a plain key, no record; its seed is unknown
    old = tables._row("IGDE", "igde", {"igde": _m(28.0)}, {})
    assert old["seed"] is None and old["steps"] is None and old["trained"] is False and old["psnr"] == 28.0


def test_a_learned_row_without_checkpoint_or_result_is_empty():
    row = tables._row("DE-CNN", "decnn", {}, {})
    assert row["trained"] is False and row["frames"] == 0 and row["steps"] is None and row["seed"] is None
    assert row["psnr_per_seed"] == {} and row["psnr_seed_spread"] is None and row["model"] is None
    assert math.isnan(row["psnr"]) and math.isnan(row["ms_per_frame"])
    trained = tables._row("DE-CNN", "decnn", {}, {"decnn@0": {"seed": 0, "steps": 10}})
    assert trained["trained"] is True and math.isnan(trained["psnr"]) and trained["frames"] == 0


def test_build_tables_one_set_per_dataset_with_its_suffix():
    res = {"synthetic-test": {"input": _m(20.0)}, "icl_nuim_clean5": {"input": _m(40.0)}}
    got = tables.build_tables(res, {})
    assert sorted(got) == ["table1", "table1_icl_nuim", "table2", "table2_icl_nuim", "table3", "table3_icl_nuim"]
    assert got["table1"][0]["psnr"] == 20.0 and got["table1_icl_nuim"][0]["psnr"] == 40.0
    assert [r["method"] for r in got["table3"]] == ["0 colour taps", "1 colour tap", "2 colour taps", "3 colour taps"]
    assert sorted(tables.build_tables({"icl_nuim_clean5": {}}, {})) == ["table1_icl_nuim", "table2_icl_nuim",
                                                                        "table3_icl_nuim"]


# ---- the claims ---------------------------------------------------------------------------------

def _r(key, psnr, spread=None):
    return {"key": key, "method": key.upper(), "psnr": psnr, "psnr_seed_spread": spread}


def test_best_is_the_highest_psnr_and_a_tie_goes_to_igde():
    rows = [_r("drecnn", 25.0), _r("igde", 25.0), _r("input", 20.0), _r("decnn", NAN)]
    assert tables._best(rows)["key"] == "igde"
    assert tables._best([_r("drecnn", 25.5), _r("igde", 25.0)])["key"] == "drecnn"
    assert tables._best([_r("decnn", NAN)]) is None


def test_noise_is_the_tie_or_the_largest_seed_spread_above_it():
    assert tables._noise([_r("a", 1.0, 0.25), _r("b", 1.0, 0.5), _r("c", 1.0)]) == (
        0.5, "the largest seed-to-seed spread of a row in these tables, 0.50 dB")
    assert tables._noise([_r("a", 1.0, 0.05)]) == (0.05, "0.05 dB")  # at the tie: not above it
    assert tables._noise([_r("a", 1.0, 0.01), _r("b", 1.0)]) == (0.05, "0.05 dB")
    assert tables._noise([]) == (0.05, "0.05 dB")


def _t2(igde, l1, focal, sobel, spread=0.5):
    return {"table2": [_r("igde-l1", l1, spread), _r("igde-l1-focal", focal), _r("igde-l1-sobel", sobel),
                       _r("igde", igde, spread)]}


def test_ablation_verdicts_at_the_noise_bounds():
    """Noise 0.5 dB (a seed spread): rows all within it are undecided; IGDE best by exactly the noise
    holds, by less leans towards; another row above IGDE by exactly the noise: does not hold."""
    noise = "noise: the largest seed-to-seed spread of a row in these tables, 0.50 dB"
    claim = "Claim 2 (focal and Sobel losses help)"
    assert tables.claims(_t2(25.25, 25.0, 25.125, 24.875)) == [
        f"{claim}: undecided here: all rows within 0.38 dB of each other ({noise})."]
    assert tables.claims(_t2(25.5, 25.0, 25.0, 24.5)) == [
        f"{claim}: holds here (25.50 dB; next best IGDE-L1 25.00 dB; {noise})."]
    assert tables.claims(_t2(25.25, 25.0, 24.5, 24.5)) == [
        f"{claim}: leans towards holding, within noise (25.25 dB; next best IGDE-L1 25.00 dB; {noise})."]
    assert tables.claims(_t2(25.0, 25.5, 24.5, 24.5)) == [
        f"{claim}: does not hold here: IGDE-L1 has the best PSNR (25.50 dB vs 25.00 dB; {noise})."]
    assert tables.claims(_t2(25.0, 25.25, 24.5, 24.5)) == [
        f"{claim}: leans against, within noise: IGDE-L1 has the best PSNR (25.25 dB vs 25.00 dB; {noise})."]
    # spread exactly the noise: decided
    assert "holds here" in tables.claims(_t2(25.5, 25.0, 25.0, 25.0))[0]


def test_ablation_tie_with_igde_ranks_igde_first_and_needs_igde():
    t3 = {"table3": [_r("igde-taps0", 22.0), _r("igde-taps1", 22.0), _r("igde-taps2", 23.0), _r("igde", 23.0)]}
    assert tables.claims(t3) == ["Claim 3 (three colour taps are best): leans towards holding, within noise "
                                 "(23.00 dB; next best IGDE-TAPS2 23.00 dB; noise: 0.05 dB)."]
    t3["table3"][3]["psnr"] = NAN  # IGDE not evaluated: no line
    assert tables.claims(t3) == []
    t3["table3"] = [_r("igde", 23.0)]  # IGDE alone: all rows within 0.00 dB
    assert tables.claims(t3) == ["Claim 3 (three colour taps are best): undecided here: all rows within 0.00 dB "
                                 "of each other (noise: 0.05 dB)."]


def test_claim1_at_the_noise_bounds():
    t1 = [_r("input", 20.0), _r("filter:guided", 24.5), _r("decnn", 23.5), _r("drecnn", 24.25), _r("igde", 24.0, 0.5)]
    (line,) = tables.claims({"table1": t1})
    noise = "the largest seed-to-seed spread of a row in these tables, 0.50 dB"
    assert line == (f"Claim 1 (IGDE beats DE-CNN, DRECNN, DEN+CBPN): does not hold here: clearly higher PSNR than "
                    f"IGDE's 24.00 dB (by more than {noise}): FILTER:GUIDED (24.50). "
                    f"Learned rows clearly below IGDE: DECNN (23.50).")
    t1[1]["psnr"] = 24.25  # nothing above by the noise: holds, though not the best
    (line,) = tables.claims({"table1": t1})
    assert line == ("Claim 1 (IGDE beats DE-CNN, DRECNN, DEN+CBPN): holds here: no method is clearly above "
                    f"IGDE's 24.00 dB (noise: {noise}). Learned rows clearly below IGDE: DECNN (23.50).")
    t1[3]["psnr"] = NAN  # not evaluated: left out everywhere
    t1[2]["psnr"] = 23.75
    assert tables.claims({"table1": t1}) == [
        "Claim 1 (IGDE beats DE-CNN, DRECNN, DEN+CBPN): holds here: no method is clearly above "
        f"IGDE's 24.00 dB (noise: {noise})."]
    t1[4]["psnr"] = NAN
    assert tables.claims({"table1": t1}) == []


def test_claim1_names_learned_rows_within_the_tie_of_the_input():
    t1 = [_r("input", 0.0), _r("decnn", 0.05), _r("drecnn", -0.046875), _r("dencbpn", 0.0625),
          _r("filter:guided", 0.0), _r("igde", 8.0)]
    (line,) = tables.claims({"table1": t1})
    assert line.endswith(" Within 0.05 dB of the degraded input: DRECNN: at this training budget it has barely "
                         "moved from the identity it starts at.")
    t1[1]["psnr"] = 0.046875
    (line,) = tables.claims({"table1": t1})
    assert line.endswith(" Within 0.05 dB of the degraded input: DECNN, DRECNN: at this training budget they have "
                         "barely moved from the identity they start at.")
    assert "clearly below IGDE: DECNN (0.05), DRECNN (-0.05), DENCBPN (0.06)." in line


def test_claims_read_the_icl_tables_by_their_suffix():
    t = {"table2_icl_nuim": _t2(41.0, 40.0, 40.0, 40.0)["table2"], **_t2(25.0, 25.0, 25.0, 25.0)}
    assert tables.claims(t, "_icl_nuim")[0].startswith("Claim 2 (focal and Sobel losses help): holds here (41.00 dB")
    assert "undecided" in tables.claims(t)[0]


# ---- the Markdown ---------------------------------------------------------------------------------

def _mrow(key, method, psnr, psnr_t, psnr_f, ssim, rmse, temporal, **kw):
    r = {"key": key, "method": method, "psnr": psnr, "psnr_t": psnr_t, "psnr_f": psnr_f, "ssim": ssim,
         "rmse": rmse, "temporal": temporal, "psnr_seed_spread": None}
    r.update(kw)
    return r


def test_tables_markdown_by_hand():
    """Bold: the highest PSNR / PSNRt / PSNRf / SSIM and the lowest RMSE / temporal of a table; steps,
    seeds and the per-seed PSNR column when a row has several seeds; 'not trained'; the ICL-NUIM
    table without the temporal column."""
    rows = [
        _mrow("igde-l1", "L1", 25.1, 30.0, 10.5, 0.91234, 3.25, 0.5, steps=800, seed=[0, 1], trained=True,
              psnr_per_seed={"0": 25.0, "1": 25.2}, psnr_seed_spread=0.2),
        _mrow("igde", "L1 + focal + Sobel", 25.5, 29.0, 12.0, 0.9, 3.5, 0.25, steps=[700, 800], seed=0, trained=True,
              psnr_per_seed={"0": 25.5}),
        _mrow("igde-l1-focal", "L1 + focal", NAN, NAN, NAN, NAN, NAN, NAN, steps=None, seed=None, trained=False,
              psnr_per_seed={}),
    ]
    icl = [_mrow("input", "degraded input", 40.0, math.inf, 5.0, 0.99, 1.0, NAN, steps=0, seed=None),
           _mrow("igde", "IGDE", 41.0, 50.0, 6.0, 0.98, 1.25, NAN, steps=800, seed=1, trained=True,
                 psnr_per_seed={"1": 41.0})]
    md = tables.tables_markdown({"table2": rows, "table1_icl_nuim": icl}, {"notes": {"data": "d1", "budget": "b1"}})
    claim = ("- Claim 2 (focal and Sobel losses help): holds here (25.50 dB; next best "
             "L1 25.10 dB; noise: the largest seed-to-seed spread of a row in these tables, 0.20 dB).")
    assert md == "\n".join([
        "# Paper tables (IGDE, EURASIP JIVP 2022) reproduced on igde-stream's data", "",
        "- data: d1", "- budget: b1", "",
        "What the tables say about the paper's claims (synthetic test split; a difference smaller than the noise "
        "named in a line does not tell rows apart):", "", claim, "",
        "What the tables say about the paper's claims (ICL-NUIM; a difference smaller than the noise named in a "
        "line does not tell rows apart):", "",
        "- Claim 1 (IGDE beats DE-CNN, DRECNN, DEN+CBPN): holds here: no method is clearly above IGDE's 41.00 dB "
        "(noise: 0.05 dB).", "",
        "## Table II: loss functions (weights a, b, c of eq. (5)) - synthetic test split", "",
        "| method | PSNR | PSNRt | PSNRf | SSIM | RMSE | temporal | steps | seed | PSNR per seed |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| L1 | 25.10 | **30.00** | 10.50 | **0.9123** | **3.250** | 0.500 | 800 | 0, 1 | 25.00 / 25.20 |",
        "| L1 + focal + Sobel | **25.50** | 29.00 | **12.00** | 0.9000 | 3.500 | **0.250** | 700, 800 | 0 | 25.50 |",
        "| L1 + focal | - | - | - | - | - | - | not trained | - | - |",
        "",
        "## Table I: comparison with other methods - ICL-NUIM clean5 (real rendered living room, same degradation)",
        "",
        "| method | PSNR | PSNRt | PSNRf | SSIM | RMSE | steps | seed |",
        "|---|---|---|---|---|---|---|---|",
        "| degraded input | 40.00 | **inf** | 5.00 | **0.9900** | **1.000** | - | - |",
        "| IGDE | **41.00** | 50.00 | **6.00** | 0.9800 | 1.250 | 800 | 1 |",
        "",
        "PSNR / PSNRt / PSNRf in dB from the frame-averaged MSE; PSNRt over pixels the degraded input had right "
        "(damage), PSNRf over its error pixels (repair); SSIM and RMSE are per-frame means; temporal = mean "
        "|(p_t - p_t-1) - (g_t - g_t-1)| over consecutive frames (lower is better). Bold: best in column.",
    ]) + "\n"


def test_tables_markdown_claims_of_both_datasets():
    t = {"table2": _t2(25.0, 24.0, 24.0, 24.0, spread=None)["table2"],
         "table2_icl_nuim": _t2(41.0, 40.0, 40.0, 40.0, spread=None)["table2"]}
    for rows in t.values():
        for r in rows:
            r.update(psnr_t=1.0, psnr_f=1.0, ssim=1.0, rmse=1.0, temporal=1.0, steps=1, seed=0, trained=True)
    md = tables.tables_markdown(t, {})
    assert md.count("What the tables say") == 2
    assert "(synthetic test split; a difference" in md and "(ICL-NUIM; a difference" in md
    assert "- Claim 2 (focal and Sobel losses help): holds here (41.00 dB" in md
    assert md.index("(ICL-NUIM; a difference") < md.index("## Table II")


# ---- evaluate: the budget note; figures: the crop ---------------------------------------------------

def test_budget_note_one_seed_equal_steps():
    recs = {"igde@0": {"steps": 800, "seed": 0}, "decnn@0": {"steps": 800, "seed": 0}}
    assert _budget_note(recs) == ("every learned row: same recipe, data, batch, crop, steps and seed (see steps / "
                                  "seed columns and meta.training)")
    assert _budget_note({}) == _budget_note(recs)


def test_budget_note_several_seeds_groups_rows_by_their_seeds():
    recs = {"igde@0": {"steps": 800, "seed": 0}, "igde@1": {"steps": 800, "seed": 1},
            "igde-l1@0": {"steps": 800, "seed": 0}, "igde-l1@1": {"steps": 800, "seed": 1},
            "decnn@0": {"steps": 800, "seed": 0}, "drecnn@2": {"steps": 800, "seed": 2}}
    assert _budget_note(recs) == (
        "every learned row: same recipe, batch, crop and steps, trained once per seed (seeds 0, 1: igde, igde-l1; "
        "seed 0: decnn; seed 2: drecnn; the seed sets the initial weights and the training crops); metrics are "
        "means over a row's seeds, the PSNR of each seed is in the last column")


def test_budget_note_unequal_steps_names_the_range():
    recs = {"igde@0": {"steps": 1309, "seed": 0}, "decnn@0": {"steps": 679}, "drecnn@0": {"steps": 900, "seed": 0}}
    assert _budget_note(recs) == (
        "learned rows: same recipe, data, batch, crop, seed and wall-clock cap, but NOT the same steps: the cap "
        "stopped them at 679-1309 steps, before any common snapshot (see the steps column); rows with more steps "
        "had an advantage")


def _window_sums(err, h, w):
    H, W = err.shape
    return {(y, x): int(err[y:y + h, x:x + w].sum()) for y in range(H - h + 1) for x in range(W - w + 1)}


def test_crop_box_is_the_window_with_the_most_errors():
    """On a grid fine enough to visit every corner (at most 8 steps each way), the corner of the h x w
    window with the most error pixels (sums by hand); a tie keeps the first in row order."""
    err = np.zeros((10, 12), bool)
    err[6:9, 7:11] = True  # 12 pixels
    err[0, 0] = True
    assert _crop_box(err, 3, 4) == (6, 7)
    sums = _window_sums(err, 3, 4)
    assert sums[(6, 7)] == 12 == max(sums.values())
    assert _crop_box(err, 10, 12) == (0, 0)  # the whole frame
    assert _crop_box(np.zeros((10, 12), bool), 3, 4) == (0, 0)  # no error: the first corner
    one = np.zeros((10, 12), bool)
    one[9, 11] = True  # the last pixel: only the last corner holds it
    assert _crop_box(one, 2, 2) == (8, 10)


def test_crop_box_on_a_coarse_grid_visits_every_eighth():
    """H - h = 80: rows 0, 10, ..., 80 are visited (step (H - h) // 8), columns likewise."""
    err = np.zeros((90, 90), bool)
    err[83:90, 83:90] = True  # only the last corner (80, 80) of a 10 x 10 window covers all of it
    assert _crop_box(err, 10, 10) == (80, 80)
    err[:] = False
    err[25:35, 45:55] = True  # the best visited corners: y 30 (5 rows... ) vs 20, x 50 vs 40
    got = _crop_box(err, 10, 10)
    assert got[0] % 10 == 0 and got[1] % 10 == 0
    sums = {k: v for k, v in _window_sums(err, 10, 10).items() if k[0] % 10 == 0 and k[1] % 10 == 0}
    assert sums[got] == max(sums.values()) == 25 and got == (20, 40)


# ---- evaluate_suite with stand-ins for the data, the methods and the figure -----------------------

FH, FW = 300, 500  # larger than the 480 x 270 crop of the figures


def _seq(name: str, frames: int, consecutive: bool = True):
    """Frames of true depth 100 with one wrong block of 20 x 10 pixels at the bottom-left corner:
    the 480 x 270 window with the most errors starts at x 0, y 30."""
    from igde_stream.data.sequence import Sequence

    gt = np.full((frames, FH, FW), 100, np.uint8)
    depth = gt.copy()
    depth[:, 280:300, 0:10] = 50
    color = np.zeros((frames, FH, FW, 3), np.uint8)
    color[..., 0] = np.arange(frames, dtype=np.uint8)[:, None, None]
    color[..., 1] = (np.arange(FH) % 256).astype(np.uint8)[None, :, None]
    return Sequence(name=name, color=color, depth=depth, gt=gt, peak=255, consecutive=consecutive,
                    params={"made": name})


PSNR = {"input": 20.0, "filter:guided": 24.0, "igde@0": 22.5, "decnn@0": 21.0}


def _suite(monkeypatch, tmp_path):
    """A checkpoint folder with IGDE and DE-CNN (seed 0, 800 steps), stand-ins for the test split,
    ICL-NUIM, the filters, the networks, the evaluation and the figure; what each was given."""
    import igde_stream.evaluation as ev
    from igde_stream.paper import evaluate

    ck = tmp_path / "ck"
    ck.mkdir()
    tc = {"batch": 4, "crop": [128, 128], "lr": 0.0005, "device": "cpu", "amp": False, "scene_size": [960, 540],
          "other": 1}
    for key in ("igde", "decnn"):
        (ck / f"{key}.pt").write_bytes(b"stand-in")
        (ck / f"{key}.json").write_text(json.dumps(
            {"seed": 0, "steps": 800, "model": f"{key}-small", "train_seconds": 60.0, "train_config": tc}))
    seen: dict = {"test_sequences": [], "eval": [], "fig": [], "model": [], "raw_at_eval": []}
    out = tmp_path / "res"

    def test_sequences(sequences, frames, size):
        seen["test_sequences"].append((sequences, frames, size))
        return [_seq(f"test-{i}", 2) for i in range(sequences)]

    def icl(folder):
        return _seq("icl-clean5", 3, consecutive=False) if str(folder).endswith("icl") else None

    def evaluate_methods(methods, seqs, dataset, batch):
        ((key, method),) = methods.items()
        raw = out / "paper_raw.json"
        seen["raw_at_eval"].append((dataset, key, raw.read_text() if raw.is_file() else None))
        seen["eval"].append((dataset, key, batch, len(seqs)))
        return [{"dataset": dataset, "method": key, "frames": sum(len(s) for s in seqs), "psnr": PSNR[key],
                 "psnr_t": PSNR[key] + 1, "psnr_f": PSNR[key] - 1, "ssim": 0.5, "rmse": 2.0, "temporal": 1.0}]

    def model_method(path, device, backend="torch", threads=None):
        seen["model"].append((pathlib.Path(path).name, device, backend, threads))

        def run(color, depth):
            assert color.shape[0] == depth.shape[0] == 1 and color.shape[1:] == (FH, FW, 3)
            return depth.astype(np.uint16) + 7

        return run

    def fig(path, color, gt, degraded, refined, title=""):
        seen["fig"].append((pathlib.Path(path).name, color, gt, degraded, refined, title))

    monkeypatch.setattr(ev, "test_sequences", test_sequences)
    monkeypatch.setattr(ev, "icl_nuim_sequence", icl)
    monkeypatch.setattr(ev, "evaluate_methods", evaluate_methods)
    monkeypatch.setattr(ev, "model_method", model_method)
    monkeypatch.setattr(evaluate, "filter_methods", lambda: {"filter:guided": lambda c, d: d})
    monkeypatch.setattr(evaluate, "save_fig10", fig)
    return ck, out, seen


def test_evaluate_suite_defaults_figures_devices_and_notes(monkeypatch, tmp_path):
    """The documented test data (4 x 12 frames at 960x540), two Fig. 10 pictures per dataset (the first
    frame of the first two sequences; the first two frames of ICL-NUIM's one sequence), each a
    480 x 270 crop at the window with the most input errors; where each row ran; the notes."""

    from igde_stream.paper import evaluate

    ck, out, seen = _suite(monkeypatch, tmp_path)
    logs: list[str] = []
    obj = evaluate.evaluate_suite(ck, out, icl=tmp_path / "icl", log=logs.append)
    assert seen["test_sequences"] == [(4, 12, (960, 540))]
    # per dataset: IGDE and DE-CNN for their rows, then IGDE again for the figures
    assert seen["model"] == [("igde.pt", "cpu", "torch", None), ("decnn.pt", "cpu", "torch", None),
                             ("igde.pt", "cpu", "torch", None)] * 2
    assert [(ds, k, b, n) for ds, k, b, n in seen["eval"]] == [
        (ds, k, 1, n) for ds, n in (("synthetic-test", 4), ("icl_nuim_clean5", 1))
        for k in ("input", "filter:guided", "igde@0", "decnn@0")]
    names = [f[0] for f in seen["fig"]]
    assert names == ["fig10_synthetic_test_0.png", "fig10_synthetic_test_1.png",
                     "fig10_icl_nuim_clean5_0.png", "fig10_icl_nuim_clean5_1.png"]
    titles = [f[5] for f in seen["fig"]]
    assert titles == ["IGDE (seed 0) on test-0 frame 0 (480x270 crop at x=0, y=30)",
                      "IGDE (seed 0) on test-1 frame 0 (480x270 crop at x=0, y=30)",
                      "IGDE (seed 0) on icl-clean5 frame 0 (480x270 crop at x=0, y=30)",
                      "IGDE (seed 0) on icl-clean5 frame 1 (480x270 crop at x=0, y=30)"]
    for (_, color, gt, degraded, refined, _), t in zip(seen["fig"], (0, 0, 0, 1)):
        assert color.shape == (270, 480, 3) and gt.shape == degraded.shape == refined.shape == (270, 480)
        assert (color[..., 0] == t).all() and (color[:, 0, 1] == np.arange(30, 300) % 256).all()
        assert (degraded[-20:, :10] == 50).all() and (degraded[:-20] == 100).all() and (gt == 100).all()
        np.testing.assert_array_equal(refined, degraded.astype(np.uint16) + 7)

    meta = obj["meta"]
    syn, icl = meta["datasets"]["synthetic-test"], meta["datasets"]["icl_nuim_clean5"]
    assert (syn["sequences"], syn["frames"], syn["size"], syn["params"]) == (4, 8, [FW, FH], {"made": "test-0"})
    assert (icl["sequences"], icl["frames"], icl["size"]) == (1, 3, [FW, FH])
    assert syn["devices"] == icl["devices"] == {"input": "cpu", "filter:guided": "cpu", "igde@0": "cpu (torch)",
                                                "decnn@0": "cpu (torch)"}
    notes = meta["notes"]
    assert notes["data"].startswith("synthetic-test: 4 sequence(s), 8 frames at 500x300; icl_nuim_clean5: 1 "
                                    "sequence(s), 3 frames at 500x300; 8-bit depth with the default")
    assert notes["inference"] == ("synthetic-test: networks run on cpu (torch); icl_nuim_clean5: networks run on "
                                  "cpu (torch)")
    assert notes["budget"] == _budget_note({"igde@0": {"steps": 800, "seed": 0}}) + (
        "; trained with batch 4, crop [128, 128], lr 0.0005, on cpu")
    assert meta["training"]["igde@0"] == {
        "model": "igde-small", "steps": 800, "seed": 0, "train_seconds": 60.0, "loss_weights": None,
        "weights_hash": None, "validation": None, "checkpoint": str(ck / "igde.pt"),
        "train_config": {"batch": 4, "crop": [128, 128], "lr": 0.0005, "device": "cpu", "amp": False,
                         "scene_size": [960, 540]}}
    assert meta["checkpoints"] == [str(ck)] and 0 <= meta["wall_s"] < 600
    t1 = {r["key"]: r for r in obj["table1"]}
    assert (t1["input"]["psnr"], t1["filter:guided"]["psnr"], t1["igde"]["psnr"], t1["decnn"]["psnr"]) == (
        20.0, 24.0, 22.5, 21.0)
    assert {r["key"]: r for r in obj["table1_icl_nuim"]}["igde"]["psnr"] == 22.5
    # the files: paper_raw.json (every row, two-space indents), the tables as returned, their Markdown
    raw_text = (out / "paper_raw.json").read_text()
    raw = json.loads(raw_text)
    assert raw_text == json.dumps(raw, indent=2) + "\n"
    assert {k: r["psnr"] for k, r in raw["results"]["synthetic-test"].items()} == PSNR
    assert json.loads((out / "paper_tables.json").read_text()) == obj
    assert (out / "paper_tables.md").read_text().startswith("# Paper tables (IGDE")
    assert logs[-1].startswith(f"wrote {out / 'paper_tables.md'} and {out / 'paper_tables.json'} in ")


def test_evaluate_suite_saves_each_row_as_soon_as_it_is_measured(monkeypatch, tmp_path):
    """paper_raw.json holds every row measured so far when the next method starts: a run cut short
    keeps what it measured (the docstring's promise)."""
    from igde_stream.paper import evaluate

    ck, out, seen = _suite(monkeypatch, tmp_path)
    evaluate.evaluate_suite(ck, out, icl=None, figures=0, log=lambda s: None)
    done = []
    for ds, key, text in seen["raw_at_eval"]:
        raw = json.loads(text) if text else {"results": {}}
        assert text is None or text == json.dumps(raw, indent=2) + "\n"  # the layout of results/paper_raw.json
        have = sorted(raw["results"].get(ds, {}))
        assert have == sorted(done), (key, have)
        done.append(key)
    assert (ROOT / "results" / "paper_raw.json").read_text().startswith('{\n  "results": {\n    "')
    assert seen["fig"] == []  # figures=0


def test_evaluate_suite_keeps_the_other_rows_and_their_devices(monkeypatch, tmp_path):
    """A second run of the filters alone keeps the networks' rows and where they ran; a run of the
    networks on ONNX Runtime records that; a single ICL-NUIM sequence with one figure."""
    from igde_stream.paper import evaluate

    ck, out, seen = _suite(monkeypatch, tmp_path)
    evaluate.evaluate_suite(ck, out, icl=None, figures=1, datasets=["synthetic"], log=lambda s: None)
    PSNR["filter:guided"] = 25.0
    try:
        obj = evaluate.evaluate_suite(ck, out, icl=None, figures=1, datasets=["synthetic"], methods=["filters"],
                                      log=lambda s: None)
    finally:
        PSNR["filter:guided"] = 24.0
    t1 = {r["key"]: r for r in obj["table1"]}
    assert (t1["filter:guided"]["psnr"], t1["igde"]["psnr"], t1["input"]["psnr"]) == (25.0, 22.5, 20.0)
    assert obj["meta"]["datasets"]["synthetic-test"]["devices"] == {
        "input": "cpu", "filter:guided": "cpu", "igde@0": "cpu (torch)", "decnn@0": "cpu (torch)"}
    obj = evaluate.evaluate_suite(ck, out, icl=None, figures=1, datasets=["synthetic"], methods=["learned"],
                                  backend="onnxruntime", threads=2, log=lambda s: None)
    assert obj["meta"]["datasets"]["synthetic-test"]["devices"] == {
        "input": "cpu", "filter:guided": "cpu", "igde@0": "cpu (onnxruntime)", "decnn@0": "cpu (onnxruntime)"}
    assert seen["model"][-1] == ("igde.pt", "cpu", "onnxruntime", 2)
    assert [f[0] for f in seen["fig"]] == ["fig10_synthetic_test_0.png"] * 2  # not when IGDE did not run


# ---- figures: the pictures' sizes, the real frames' depth --------------------------------------------

def test_fig10_of_a_480x270_crop_has_the_committed_pictures_size(tmp_path):
    """A Fig. 10 PNG of a 480 x 270 crop is 1080 x 477 pixels, like results/fig10_*.png."""
    from PIL import Image

    from igde_stream.paper.figures import save_fig10

    committed = {Image.open(p).size for p in (ROOT / "results").glob("fig10_*.png")}
    assert committed == {(1080, 477)}
    gt = np.full((270, 480), 100, np.uint8)
    path = save_fig10(tmp_path / "f.png", np.zeros((270, 480, 3), np.uint8), gt, gt, gt, "t")
    assert path == tmp_path / "f.png" and Image.open(path).size == (1080, 477)


def test_panel_row_of_four_640x480_frames_has_the_committed_pictures_size(tmp_path):
    """Four panels of a 640 x 480 TUM frame: 1280 x 288 pixels, like results/real_tum_*.png."""
    from PIL import Image

    from igde_stream.paper.figures import save_panel_row

    results = ROOT / "results"
    assert {Image.open(results / f"real_{n}.png").size for n in ("tum_fr1_1", "tum_open3d")} == {(1280, 288)}
    img = np.zeros((480, 640), np.uint8)
    panels = [(np.zeros((480, 640, 3), np.uint8), None, "c", None), (img, "gray", "a", 255), (img, "gray", "b", 255),
              (img, "magma", "d", 8)]
    path = save_panel_row(tmp_path / "r.png", panels, "t")
    assert path == tmp_path / "r.png" and Image.open(path).size == (1280, 288)


def test_real_pictures_depth_is_8_bit_inverse_depth_by_hand(monkeypatch, tmp_path):
    """TUM depth (1/5000 m) and HoloLens depth (mm) become 8-bit inverse depth between 0.6 m (255) and
    5 m (0), rounded, 0 (missing) kept 0; the model sees that, the panels show it."""
    import cv2

    import igde_stream.evaluation as ev
    from igde_stream.paper import figures

    z_m = np.array([[0.0, 0.3, 0.6, 1.0, 2.0, 3.0, 5.0, 8.0]] * 4)  # metres; 0: missing
    rng_m = np.linspace(0.6, 5.0, 4 * 8).reshape(4, 8)

    def inv8(m):  # (1/z - 1/5) / (1/0.6 - 1/5), clipped to [0, 1], x 255, rounded; missing 0
        with np.errstate(divide="ignore"):
            v = (1 / m - 1 / 5.0) / (1 / 0.6 - 1 / 5.0)
        return np.where(m > 0, np.floor(np.clip(v, 0, 1) * 255 + 0.5), 0).astype(np.uint8)

    frames = {"tum_rgbd/slambook_fr1_1": (np.concatenate([z_m, rng_m]), 5000),
              "hololens_dvmvs_seq12/depth/00008": (np.concatenate([rng_m, z_m]), 1000)}
    for stem, (m, per_m) in frames.items():
        (tmp_path / stem).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / f"{stem}_depth.png" if "tum" in stem else tmp_path / f"{stem}.png"),
                    np.rint(m * per_m).astype(np.uint16))
    cv2.imwrite(str(tmp_path / "tum_rgbd/slambook_fr1_1.png"), np.full((8, 8, 3), 90, np.uint8))
    (tmp_path / "hololens_dvmvs_seq12/images").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "hololens_dvmvs_seq12/images/00008.png"), np.full((8, 8, 3), 90, np.uint8))
    seen = []

    def model_method(ck, device):
        def run(color, depth):
            seen.append(depth[0].copy())
            return np.zeros_like(depth)
        return run

    panels = []
    monkeypatch.setattr(ev, "model_method", model_method)
    monkeypatch.setattr(figures, "save_panel_row",
                        lambda path, p, title: panels.append((pathlib.Path(path).name, p, title)))
    written = figures.real_pictures(tmp_path / "igde.pt", tmp_path, tmp_path / "out", log=lambda s: None)
    assert [p.name for p in written] == ["real_tum_fr1_1.png", "real_hololens_00008.png"]
    for got, m in zip(seen, (frames["tum_rgbd/slambook_fr1_1"][0], frames["hololens_dvmvs_seq12/depth/00008"][0])):
        np.testing.assert_array_equal(got, inv8(m))
    assert list(seen[0][0]) == [0, 255, 255, 139, 52, 23, 0, 0]  # 0 m missing, nearer than 0.6 m clipped
    name, p, title = panels[0]
    assert name == "real_tum_fr1_1.png" and [x[2] for x in p] == [
        "colour", "input depth (8-bit inverse)", "IGDE output", "|output - input|"]
    assert p[1][3] == p[2][3] == 255 and (p[2][0] == 0).all() and (p[3][0] == seen[0]).all()
    assert title == "tum_fr1_1 (tum_rgbd/slambook_fr1_1.png); model igde.pt; no clean ground truth: pictures only"


def test_fig10_plots_the_six_panels_on_their_scales(tmp_path, monkeypatch):
    """The figure's data: (a) colour, (b) ground truth, (c) degraded, (d) refined on 0..255, (e) and (f)
    |degraded - gt| and |refined - gt| on one scale 0..max(8, 99.9th percentile), titles with the
    counts of wrong pixels."""
    from matplotlib.figure import Figure

    from igde_stream.paper.figures import save_fig10

    figs = []
    monkeypatch.setattr(Figure, "savefig", lambda self, path, *a, **k: figs.append(self))
    rng = np.random.default_rng(1)
    color = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    gt = np.full((40, 50), 200, np.uint8)
    degraded = gt.copy()
    degraded[:10, :] = 140  # 500 pixels 60 off: the 99.9th percentile of 2000 is 60
    refined = gt.copy()
    refined[0, :3] = 255  # 3 pixels 55 off, more than gt's 200 (no uint8 wrap)
    save_fig10(tmp_path / "f.png", color, gt, degraded, refined, "title")
    (fig,) = figs
    assert len(fig.axes) == 6 and fig._suptitle.get_text() == "title"
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["(a) colour", "(b) ground truth", "(c) degraded depth", "(d) refined depth",
                      "(e) error before (500 px)", "(f) error after (3 px)"]
    want = [color, gt, degraded, refined, np.where(degraded != gt, 60, 0), np.where(refined != gt, 55, 0)]
    for ax, data in zip(fig.axes, want):
        (im,) = ax.get_images()
        np.testing.assert_array_equal(np.asarray(im.get_array()), data)
    assert [ax.get_images()[0].get_clim() for ax in fig.axes[1:]] == [(0, 255)] * 3 + [(0, 60)] * 2
    figs.clear()
    refined[0, :3] = 203  # 3 off
    save_fig10(tmp_path / "g.png", color, gt, gt, refined)  # small errors: the scale is at least 0..8
    (fig,) = figs
    assert fig.axes[5].get_images()[0].get_clim() == (0, 8) and fig._suptitle is None
    assert fig.axes[4].get_title() == "(e) error before (0 px)"


def test_real_pictures_tum_depth_is_in_fifths_of_a_millimetre(monkeypatch, tmp_path):
    """TUM RGB-D depth PNGs hold 5000 units per metre: every value from 0.6 m to 5 m by hand."""
    import cv2

    import igde_stream.evaluation as ev
    from igde_stream.paper import figures

    z = np.arange(3000, 25000, dtype=np.uint16).reshape(100, 220)  # 0.6 m .. 5 m
    (tmp_path / "tum_rgbd").mkdir()
    cv2.imwrite(str(tmp_path / "tum_rgbd/slambook_fr1_1_depth.png"), z)
    cv2.imwrite(str(tmp_path / "tum_rgbd/slambook_fr1_1.png"), np.zeros((100, 220, 3), np.uint8))
    seen = []
    monkeypatch.setattr(ev, "model_method", lambda ck, device: lambda c, d: seen.append(d[0]) or d)
    monkeypatch.setattr(figures, "save_panel_row", lambda *a: None)
    figures.real_pictures(tmp_path / "igde.pt", tmp_path, tmp_path / "out", log=lambda s: None)
    level = (1 / (z / 5000.0) - 1 / 5.0) / (1 / 0.6 - 1 / 5.0) * 255
    clear = np.abs(level % 1 - 0.5) > 1e-6  # not at a tie of the rounding
    assert clear.mean() > 0.999
    np.testing.assert_array_equal(seen[0][clear], np.floor(level + 0.5).astype(np.uint8)[clear])
