"""Weight averages shipped by ``tools/train.py --average`` (``igde_stream.shipping.average_weights``):
the tensors against a NumPy mean computed here, the record (parents, shares, seeds, lineage), the
order independence of a half / half mean, and refusals that write nothing."""

import json

import numpy as np
import pytest
import torch
from conftest import load_tool
from conftest import random_select_model as _model

from igde_stream.models import create_model, load_checkpoint, save_checkpoint, weights_hash
from igde_stream.shipping import average_weights

SELECT = dict(head="select", radius=3, candidates="star", attend=2, scale=2)


def test_average_is_the_weighted_mean_of_every_tensor_and_records_both_parents(tmp_path):
    a, b = _model(1), _model(2)
    save_checkpoint(tmp_path / "a.pt", a, train_config={"model": "igde-tiny", "seed": 11, "command": "train a"},
                    step=40)
    save_checkpoint(tmp_path / "b.pt", b)
    (tmp_path / "b.json").write_text(json.dumps(
        {"weights_hash": weights_hash(b), "command": "train b", "seed": 12, "steps": 9,
         "starts_from": [{"checkpoint": "runs/older.pt", "seed": 3}]}))
    meta = average_weights(tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "out" / "m.pt", share=0.25)
    mean = load_checkpoint(tmp_path / "out" / "m.pt")
    sa, sb = a.state_dict(), b.state_dict()
    for k, v in mean.state_dict().items():
        expected = 0.75 * sa[k].numpy().astype(np.float64) + 0.25 * sb[k].numpy().astype(np.float64)
        np.testing.assert_allclose(v.numpy(), expected, rtol=1e-6, atol=1e-7, err_msg=k)
    record = json.loads((tmp_path / "out" / "m.json").read_text())
    assert record == json.loads(json.dumps(meta))
    assert record["weights_hash"] == weights_hash(mean) not in (weights_hash(a), weights_hash(b))
    first, second = record["averaged_from"]
    assert (first["share"], second["share"]) == (0.75, 0.25)
    assert (first["weights_hash"], second["weights_hash"]) == (weights_hash(a), weights_hash(b))
    assert (first["command"], first["seed"], first["steps"]) == ("train a", 11, 40)
    assert (second["command"], second["seed"], second["starts_from"]) == ("train b", 12, [{"checkpoint": "runs/older.pt", "seed": 3}])
    assert record["seeds"] == [11, 12]


def test_half_mean_is_exact_and_order_free_and_nests(tmp_path):
    """0.5 / 0.5 is exact in float32, so (a, b) and (b, a) give the same bits; an average of an
    average keeps the inner one's parents and seeds in its record."""
    for i, seed in enumerate((1, 2, 3)):
        save_checkpoint(tmp_path / f"m{i}.pt", _model(seed), train_config={"model": "igde-tiny", "seed": seed}, step=1)
    ab = average_weights(tmp_path / "m0.pt", tmp_path / "m1.pt", tmp_path / "ab.pt")
    ba = average_weights(tmp_path / "m1.pt", tmp_path / "m0.pt", tmp_path / "ba.pt")
    assert ab["weights_hash"] == ba["weights_hash"]
    x, y = load_checkpoint(tmp_path / "ab.pt").state_dict(), load_checkpoint(tmp_path / "ba.pt").state_dict()
    assert all(torch.equal(x[k], y[k]) for k in x)
    outer = average_weights(tmp_path / "m2.pt", tmp_path / "ab.pt", tmp_path / "abc.pt")
    assert outer["seeds"] == [3, 1, 2]
    assert [p["seed"] for p in outer["averaged_from"][1]["averaged_from"]] == [1, 2]
    m2 = load_checkpoint(tmp_path / "m2.pt").state_dict()
    got = load_checkpoint(tmp_path / "abc.pt").state_dict()
    for k in got:  # 0.5 m2 + 0.25 m0 + 0.25 m1, up to float32 rounding
        torch.testing.assert_close(got[k], 0.5 * m2[k] + 0.5 * x[k])


def test_average_of_a_hard_output_model_moves_its_output(tmp_path):
    """The averaged network is the one that runs: its output equals a model built from the mean
    tensors by hand, and differs from both parents' outputs."""
    a, b = _model(4), _model(5)
    save_checkpoint(tmp_path / "a.pt", a)
    save_checkpoint(tmp_path / "b.pt", b)
    average_weights(tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "m.pt")
    by_hand = create_model("igde-tiny", **SELECT).eval()
    by_hand.load_state_dict({k: (a.state_dict()[k] + b.state_dict()[k]) / 2 for k in a.state_dict()})
    color = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0))
    depth = torch.rand(1, 1, 24, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = load_checkpoint(tmp_path / "m.pt")(color, depth)
        assert torch.equal(out, by_hand(color, depth))
        assert not torch.equal(out, a(color, depth)) and not torch.equal(out, b(color, depth))


def test_inference_override_makes_two_configs_one(tmp_path):
    save_checkpoint(tmp_path / "a.pt", _model(1))
    save_checkpoint(tmp_path / "b.pt", _model(2, zero_holes=True))
    with pytest.raises(ValueError, match="zero_holes: False vs True"):
        average_weights(tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    meta = average_weights(tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "m.pt", overrides={"zero_holes": True})
    assert meta["config"]["zero_holes"] and meta["export_overrides"] == {"zero_holes": True}
    assert load_checkpoint(tmp_path / "m.pt").config.zero_holes


def test_average_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    save_checkpoint(tmp_path / "a.pt", _model(1))
    save_checkpoint(tmp_path / "b.pt", create_model("igde-tiny"))  # the residual head: other tensors
    save_checkpoint(tmp_path / "c.pt", _model(3))
    out = tmp_path / "out" / "m.pt"
    cases = [(["--average", str(tmp_path / "a.pt"), str(tmp_path / "none.pt"), "--to", str(out)], "no such checkpoint"),
             (["--average", str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--to", str(out)], "not one architecture"),
             (["--average", str(tmp_path / "a.pt"), str(tmp_path / "c.pt"), "--share", "1", "--to", str(out)], "share"),
             (["--average", str(tmp_path / "a.pt"), str(tmp_path / "c.pt")], "needs --to")]
    tool = load_tool("train", "train_tool_average")
    for args, why in cases:
        with pytest.raises(SystemExit) as exit_info:
            tool.main(args)
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and why in err[-1] and "error:" in err[-1], err
        assert not (tmp_path / "out").exists()
    assert tool.main(["--average", str(tmp_path / "a.pt"), str(tmp_path / "c.pt"), "--to", str(out)]) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["command"].startswith("python tools/train.py --average") and out.is_file()


@pytest.mark.parametrize("share", [0.0, 1.0, -0.5, 1.5])
def test_a_share_outside_the_open_interval_is_refused_and_writes_nothing(tmp_path, share):
    """``(1 - share) * first + share * second`` with share 0 or 1 is a copy of one parent, not an
    average: the share must lie strictly between 0 and 1."""
    save_checkpoint(tmp_path / "a.pt", _model(1))
    save_checkpoint(tmp_path / "b.pt", _model(2))
    with pytest.raises(ValueError, match="share"):
        average_weights(tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "out" / "m.pt", share=share)
    assert not (tmp_path / "out").exists()
