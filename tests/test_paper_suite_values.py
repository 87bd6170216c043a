"""``igde_stream.paper.train`` by hand, with stand-ins for the training, the export and the row
processes (nothing is trained): the legs of ``train_one`` and each leg's record, the defaults of
``tools/paper_suite.py train --help``, ``train_suite``'s ``jobs`` rows at a time and its log lines
(mutation campaign 60a)."""

from __future__ import annotations

import json
import pathlib
import types

import pytest

from igde_stream.paper import train

# tools/paper_suite.py train --help: --workers "(default 1)", --chunks "(default 4)", --lr "(default 5e-4)",
# --batch "(default 8)", --seed "(default 0)", --scale "(default small)"; --jobs "rows trained at once", 1
TOOL_DEFAULTS = {"workers": 1, "lr": 5e-4, "batch": 8, "seed": 0, "model": "igde-small"}


class _Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def perf_counter(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


@pytest.fixture
def legs(monkeypatch):
    """train(cfg) takes 2.5 s on a stand-in clock and reaches cfg.steps; export_weights writes the
    record (steps, extra) beside the .pt as the real one does. Returns the configs and records."""
    import igde_stream.shipping as shipping
    import igde_stream.training as training

    clock = _Clock()
    monkeypatch.setattr(train, "time", clock)
    seen = types.SimpleNamespace(cfgs=[], exports=[])

    def fake_train(cfg):
        seen.cfgs.append(cfg)
        clock.t += 2.5
        return cfg

    def fake_export(last, dest, extra=None):
        record = {"steps": last.steps, "seed": last.seed, **(extra or {})}
        seen.exports.append((dest, record))
        dest.with_suffix(".json").write_text(json.dumps(record))
        return record

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(shipping, "export_weights", fake_export)
    return seen


def test_train_one_defaults_are_the_tools_four_legs_and_one_worker(legs, tmp_path):
    rec = train.train_one("igde-l1", tmp_path, steps=8)
    assert [c.steps for c in legs.cfgs] == [2, 4, 6, 8]  # 4 equal legs of the 8 steps
    for c in legs.cfgs:
        assert {k: getattr(c, k) for k in TOOL_DEFAULTS} == TOOL_DEFAULTS
        assert c.loss_weights == (1.0, 0.0, 0.0)
    assert rec["steps"] == 8 and rec["requested_steps"] == 8 and rec["paper_key"] == "igde-l1"


def test_train_one_with_one_chunk_is_one_leg_of_every_step(legs, tmp_path):
    rec = train.train_one("igde", tmp_path, steps=6, chunks=1)
    assert [c.steps for c in legs.cfgs] == [6] and rec["steps"] == 6
    assert [d.name for d, _ in legs.exports] == ["igde.pt", "6.pt"]  # the row and its one snapshot


def test_each_legs_record_has_the_seconds_since_the_row_started(legs, tmp_path):
    train.train_one("igde", tmp_path, steps=4, chunks=2)
    # 2.5 s a leg on the stand-in clock: the row's record and the snapshot after each leg
    assert [(d.name, r["wall_s"]) for d, r in legs.exports] == [("igde.pt", 2.5), ("2.pt", 2.5),
                                                                ("igde.pt", 5.0), ("4.pt", 5.0)]
    assert json.loads((tmp_path / "igde.json").read_text())["wall_s"] == 5.0


class _Rows:
    """Stand-in row processes: each is running at its first poll and done (its record written) at the
    second; ``most`` is the most rows that ran at once."""

    def __init__(self) -> None:
        self.live, self.most, self.started = set(), 0, []

    def popen(self, cmd, stdout=None, stderr=None, env=None, cwd=None):
        rows = self
        args = json.loads(cmd[-1])

        class Proc:
            returncode = None

            def __init__(self):
                self.polls = 0
                rows.live.add(self)
                rows.most = max(rows.most, len(rows.live))
                rows.started.append(args["key"])

            def poll(self):
                self.polls += 1
                if self.polls < 2:
                    return None
                rows.live.discard(self)
                record = {"steps": args["steps"], "seed": 0, "validation": {"psnr": 30.0}}
                (pathlib.Path(args["out"]) / f"{args['key']}.json").write_text(json.dumps(record))
                self.returncode = 0
                return 0

        return Proc()


@pytest.fixture
def rows(monkeypatch):
    r = _Rows()
    clock = _Clock(100.0)
    monkeypatch.setattr(train, "time", clock)
    monkeypatch.setattr(train.subprocess, "Popen", r.popen)
    return r


def test_train_suite_runs_one_row_at_a_time_by_default_and_jobs_at_a_time(rows, tmp_path):
    lines = []
    recs = train.train_suite(tmp_path / "a", steps=2, keys=["igde", "decnn", "drecnn"], log=lines.append)
    assert rows.most == 1 and rows.started == ["igde", "decnn", "drecnn"] and set(recs) == {"igde", "decnn", "drecnn"}
    rows.most = 0
    train.train_suite(tmp_path / "b", steps=2, jobs=1, keys=["igde", "decnn"], log=lines.append)
    assert rows.most == 1
    rows.most = 0
    train.train_suite(tmp_path / "c", steps=2, jobs=2, keys=["igde", "decnn", "drecnn"], log=lines.append)
    assert rows.most == 2


def test_train_suite_logs_each_rows_own_seconds(rows, tmp_path):
    """A row started at 100 s on the clock and done at 101 s took 1 s (polled every 0.5 s)."""
    lines = []
    train.train_suite(tmp_path, steps=2, keys=["igde"], log=lines.append)
    assert lines == ["[     0 s] started igde", "[     1 s] done igde: 2 steps in 1 s, val PSNR 30.00"]
