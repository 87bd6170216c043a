"""ROS bags (a RealSense Viewer recording: ROS 1; ros2 bag: MCAP or SQLite): given to the main command they
are named, with the export command, in one line (no rosbags needed); ``igde-stream bag`` writes each
depth image with the colour image nearest it in time, values as recorded, and the command that
enhances them. The bags are written here with rosbags' own writers; without rosbags those tests skip."""

from __future__ import annotations

import json
import shlex
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest

from igde_stream.cli import main

T0 = 1_700_000_000 * 10**9
QA = np.float32(100 * 101)
QB = np.float32(1 - QA / 10)
DW, DH = 32, 24


def _colour(k: int, w: int = 48, h: int = 36) -> np.ndarray:
    """RGB whose every pixel tells the frame (k) and its channel apart."""
    rng = np.random.default_rng(k)
    c = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    c[0, 0] = (k, 100 + k, 200 + k)
    return c


def _depth(k: int) -> np.ndarray:
    d = np.full((DH, DW), 3000, np.uint16)
    d[6:18, 8 + k:20 + k] = 1200 + k
    d[0, :4] = 0
    d[-1, -1] = 3400  # the farthest: 1 pixel of 768 (0.13 %), under the 0.5 % the advice leaves above it
    return d


def _image(ts, stamp_ns: int, arr: np.ndarray, enc: str, bigendian: bool = False, pad: int = 0):
    Header, Time = ts.types["std_msgs/msg/Header"], ts.types["builtin_interfaces/msg/Time"]
    h, w = arr.shape[:2]
    a = arr.astype(arr.dtype.newbyteorder(">" if bigendian else "<"))
    rows = np.ascontiguousarray(a).view(np.uint8).reshape(h, -1)
    rows = np.concatenate([rows, np.full((h, pad), 0xEE, np.uint8)], axis=1)  # row padding past the pixels
    time = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    header = Header(seq=0, stamp=time, frame_id="cam") if "seq" in Header.__dataclass_fields__ else \
        Header(stamp=time, frame_id="cam")
    return ts.types["sensor_msgs/msg/Image"](header=header, height=h, width=w, encoding=enc,
                                             is_bigendian=int(bigendian), step=rows.shape[1], data=rows.reshape(-1))


def _realsense_bag(path, units=0.001, depth_times=None, colour_times=None, sizes=None):
    """A RealSense Viewer-like ROS 1 bag: mono16 depth, rgb8 colour of another size, its Depth Units."""
    rosbag1 = pytest.importorskip("rosbags.rosbag1", reason="needs rosbags (pip install \"igde-stream[ros]\")")
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS1_NOETIC)
    depth_times = depth_times if depth_times is not None else [T0 + k * 33_333_333 for k in range(8)]
    colour_times = colour_times if colour_times is not None else [T0 + 3_000_000 + k * 66_666_667 for k in range(4)]
    with rosbag1.Writer(path) as w:
        cd = w.add_connection("/device_0/sensor_0/Depth_0/image/data", "sensor_msgs/msg/Image", typestore=ts)
        cc = w.add_connection("/device_0/sensor_1/Color_0/image/data", "sensor_msgs/msg/Image", typestore=ts)
        cu = w.add_connection("/device_0/sensor_0/option/Depth Units/value", "std_msgs/msg/Float32", typestore=ts)
        w.write(cu, T0 - 1, ts.serialize_ros1(ts.types["std_msgs/msg/Float32"](data=units), "std_msgs/msg/Float32"))
        # in the bag's time order, as recorded: colour and depth interleaved
        events = [(t, "d", k) for k, t in enumerate(depth_times)] + [(t, "c", k) for k, t in enumerate(colour_times)]
        for t, kind, k in sorted(events):
            if kind == "d":
                d = _depth(k) if sizes is None else np.zeros(sizes[k][::-1], np.uint16)
                w.write(cd, t, ts.serialize_ros1(_image(ts, t, d, "mono16"), "sensor_msgs/msg/Image"))
            else:
                w.write(cc, t, ts.serialize_ros1(_image(ts, t, _colour(k), "rgb8"), "sensor_msgs/msg/Image"))
    return depth_times, colour_times


def _ros2_bag(path, storage):
    """A ROS 2 bag: 16UC1 depth big-endian with padded rows, the same as 32FC1 metres (NaN = no return),
    bgr8 colour, PNG-compressed colour and compressedDepth (its 12-byte header, then a 16-bit PNG)."""
    rosbag2 = pytest.importorskip("rosbags.rosbag2", reason="needs rosbags (pip install \"igde-stream[ros]\")")
    import cv2
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    plugin = {"mcap": rosbag2.StoragePlugin.MCAP, "sqlite3": rosbag2.StoragePlugin.SQLITE3}[storage]
    Compressed, Header, Time = (ts.types[n] for n in ("sensor_msgs/msg/CompressedImage", "std_msgs/msg/Header",
                                                      "builtin_interfaces/msg/Time"))
    with rosbag2.Writer(path, version=8, storage_plugin=plugin) as w:
        con = {name: w.add_connection(name, mt, typestore=ts) for name, mt in (
            ("/cam/depth/image_rect_raw", "sensor_msgs/msg/Image"), ("/cam/depth/float", "sensor_msgs/msg/Image"),
            ("/cam/color/image_raw", "sensor_msgs/msg/Image"),
            ("/cam/color/image_raw/compressed", "sensor_msgs/msg/CompressedImage"),
            ("/cam/depth/image_rect_raw/compressedDepth", "sensor_msgs/msg/CompressedImage"),
            ("/cam/depth/float/compressedDepth", "sensor_msgs/msg/CompressedImage"))}
        for k in range(4):
            t = T0 + k * 33_333_333
            d = _depth(k)
            f = d.astype(np.float32) / 1000
            f[d == 0] = np.nan
            msgs = {"/cam/depth/image_rect_raw": _image(ts, t, d, "16UC1", bigendian=True, pad=6),
                    "/cam/depth/float": _image(ts, t, f, "32FC1"),
                    "/cam/color/image_raw": _image(ts, t, _colour(k)[..., ::-1], "bgr8")}
            hdr = Header(stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id="cam")
            png = cv2.imencode(".png", _colour(k)[..., ::-1])[1].reshape(-1)
            msgs["/cam/color/image_raw/compressed"] = Compressed(header=hdr, format="rgb8; png compressed bgr8",
                                                                 data=png)
            dpng = cv2.imencode(".png", d)[1].reshape(-1)
            cdepth = np.concatenate([np.frombuffer(struct.pack("<iff", 0, 0, 0), np.uint8), dpng])
            msgs["/cam/depth/image_rect_raw/compressedDepth"] = Compressed(
                header=hdr, format="16UC1; compressedDepth png", data=cdepth)
            # 32FC1 as image_transport stores it: v = A / d + B (A = 100 x 101, B = 1 - A / 10 m), 0 = no return
            v = np.where(d > 0, np.round(QA / np.maximum(d, 1) * 1000 + QB), 0).astype(np.uint16)
            fdepth = np.concatenate([np.frombuffer(struct.pack("<iff", 0, QA, QB), np.uint8),
                                     cv2.imencode(".png", v)[1].reshape(-1)])
            msgs["/cam/depth/float/compressedDepth"] = Compressed(header=hdr, format="32FC1; compressedDepth png",
                                                                  data=fdepth)
            for name, m in msgs.items():
                w.write(con[name], t, ts.serialize_cdr(m, con[name].msgtype))


def _read(path):
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_a_bag_given_as_a_video_is_named_with_the_export_command(tmp_path, capsys):
    """No rosbags needed: a bag is known by its first bytes (a ROS 2 folder by its metadata.yaml)."""
    ros1 = tmp_path / "rec ording.bag"
    ros1.write_bytes(b"#ROSBAG V2.0\n" + bytes(200))
    mcap = tmp_path / "b.mcap"
    mcap.write_bytes(b"\x89MCAP0\r\n" + bytes(200))
    db3 = tmp_path / "b_0.db3"
    sqlite3.connect(db3).execute("create table t (x)").connection.close()
    folder = tmp_path / "ros2bag"
    folder.mkdir()
    (folder / "metadata.yaml").write_text("rosbag2_bagfile_information:\n  version: 8\n")
    colour = tmp_path / "c.png"
    colour.write_bytes(b"")
    for path, kind in ((ros1, "a ROS 1 bag"), (mcap, "a ROS 2 bag (MCAP)"), (db3, "a ROS 2 bag (SQLite)"),
                       (folder, "a ROS 2 bag folder")):
        for argv in ([str(path), "-o", str(tmp_path / "o.mkv")], ["views", "render", str(path), "-o",
                                                                  str(tmp_path / "v.mkv")]):
            assert main(argv) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1, err
            assert f"{path}: {kind}, not a video" in err[0]
            assert f"`igde-stream bag {shlex.quote(str(path))} OUTDIR`" in err[0]
    assert not (tmp_path / "o.mkv").exists() and not (tmp_path / "v.mkv").exists()
    # a SQLite file that is no .db3 and an empty folder are not called bags
    other = tmp_path / "x.sqlite"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    (tmp_path / "empty").mkdir()
    for path in (other, tmp_path / "empty"):
        assert main([str(path), "-o", str(tmp_path / "o.mkv")]) == 2
        assert "ROS" not in capsys.readouterr().err


def test_without_rosbags_the_export_names_the_extra(tmp_path, capsys, monkeypatch):
    import sys

    bag = tmp_path / "r.bag"
    bag.write_bytes(b"#ROSBAG V2.0\n" + bytes(200))
    monkeypatch.setitem(sys.modules, "rosbags.highlevel", None)  # import fails, as where it is not installed
    assert main(["bag", str(bag), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"igde-stream: error: {bag}: reading ROS bags needs the rosbags library: "
                   "pip install \"igde-stream[ros]\""]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.bag"]


def test_realsense_bag_pairs_each_depth_image_with_the_nearest_colour(tmp_path, capsys):
    """30 fps depth beside 15 fps colour 3 ms later: depth image k with the colour nearest its stamp
    (found here by brute force), values as recorded; the units and --max-depth from the data."""
    bag = tmp_path / "rec.bag"
    dts, cts = _realsense_bag(bag, units=0.00025)
    out = tmp_path / "rec"
    assert main(["bag", str(bag), str(out)]) == 0
    said = capsys.readouterr()
    assert "8 colour + depth pairs" in said.out and "in units of 0.25 mm, the bag's Depth Units option" in said.out
    assert "not registered to the colour camera" in said.err
    for k, t in enumerate(dts):
        nearest = int(np.argmin([abs(c - t) for c in cts]))
        assert np.array_equal(_read(out / "depth" / f"{k:06d}.png"), _depth(k))
        assert np.array_equal(_read(out / "color" / f"{k:06d}.png")[..., ::-1], _colour(nearest))
    info = json.loads((out / "bag.json").read_text())
    assert info["depth_units_m"] == 0.00025 and info["fps"] == "30" and info["pairs"] == 8
    assert info["depth_size"] == [DW, DH] and info["color_size"] == [48, 36]
    measured = np.concatenate([_depth(k)[_depth(k) > 0] for k in range(8)])
    p = np.percentile(measured, 99.5, method="inverted_cdf")  # 3000: the 3400s are 0.13 %
    assert p == 3000 and info["max_depth"] == 4000  # rounded up to half a metre: 2000 units of 0.25 mm
    lines = [ln.split() for ln in (out / "pairs.txt").read_text().splitlines() if not ln.startswith("#")]
    assert [float(ln[2]) for ln in lines] == pytest.approx([t / 1e9 for t in dts], abs=1e-6)
    assert [ln[1] for ln in lines] == [f"color/{k:06d}.png" for k in range(8)]
    assert info["command"] == (f"igde-stream {out}/color {out}/depth -o {out}/enhanced/%06d.png --fps 30 "
                               "--depth-order far-high --max-depth 4000")
    assert said.out.strip().splitlines()[-1] == "next: " + info["command"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec", "rec.bag"]  # no part folder left


def test_depth_without_colour_near_it_is_left_out(tmp_path, capsys):
    """Colour frames dropped: depth images more than a colour frame (its median step, 66.7 ms) from any
    colour are left out and counted; --max-gap widens that."""
    bag = tmp_path / "gap.bag"
    cts = [T0 + 5_000_000 + k * 66_666_666 for k in (0, 1, 2, 5, 6, 7)]  # 5, 71.7, 138.3, 338.3, 405, 471.7 ms
    dts, _ = _realsense_bag(bag, colour_times=cts, depth_times=[T0 + k * 33_333_333 for k in range(16)])
    assert main(["bag", str(bag), str(tmp_path / "a")]) == 0
    # by hand: 233.3 ms is 95 / 105 ms from 138.3 / 338.3, and 266.7 ms 71.7 ms from 338.3
    kept = [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15]
    assert kept == [k for k, t in enumerate(dts) if min(abs(c - t) for c in cts) <= 66_666_666]
    info = json.loads((tmp_path / "a" / "bag.json").read_text())
    assert info["pairs"] == 14 and info["unpaired_depth"] == 2
    assert "2 of 16 depth images had no colour image within 0.067 s" in capsys.readouterr().err
    for n, k in enumerate(kept):
        nearest = int(np.argmin([abs(c - dts[k]) for c in cts]))
        assert np.array_equal(_read(tmp_path / "a" / "depth" / f"{n:06d}.png"), _depth(k))
        assert np.array_equal(_read(tmp_path / "a" / "color" / f"{n:06d}.png")[..., ::-1], _colour(nearest))
    assert main(["bag", str(bag), str(tmp_path / "b"), "--max-gap", "0.2"]) == 0
    assert json.loads((tmp_path / "b" / "bag.json").read_text())["pairs"] == 16


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_ros2_bag_depth_and_colour_as_recorded(tmp_path, storage):
    bag = tmp_path / "b2"
    _ros2_bag(bag, storage)
    out = tmp_path / "o"
    # the default: the integer depth (before its float copy), the raw colour (before the compressed one)
    assert main(["bag", str(bag), str(out), "-q"]) == 0
    info = json.loads((out / "bag.json").read_text())
    assert (info["depth_topic"], info["color_topic"]) == ("/cam/depth/image_rect_raw", "/cam/color/image_raw")
    assert info["depth_units_m"] == 0.001 and info["max_depth"] == 3000
    for k in range(4):
        assert np.array_equal(_read(out / "depth" / f"{k:06d}.png"), _depth(k))  # big-endian, padded rows
        assert np.array_equal(_read(out / "color" / f"{k:06d}.png")[..., ::-1], _colour(k))  # bgr8 to RGB
    # metres with NaN as .npy, exactly; compressed colour and compressedDepth decode to the same
    stored = bag / f"b2.{'mcap' if storage == 'mcap' else 'db3'}"
    assert main(["bag", str(stored), str(tmp_path / "f"), "-q", "--depth-topic", "/cam/depth/float"]) == 0
    assert main(["bag", str(bag), str(tmp_path / "z"), "-q", "--depth-topic",
                 "/cam/depth/image_rect_raw/compressedDepth", "--color-topic", "/cam/color/image_raw/compressed"]) == 0
    assert main(["bag", str(bag), str(tmp_path / "q"), "-q", "--depth-topic", "/cam/depth/float/compressedDepth"]) == 0
    finfo = json.loads((tmp_path / "f" / "bag.json").read_text())
    # the farthest, 3.4 m, is 3.4000001 in float32: the range rounded up to a tenth of a metre holds it
    assert finfo["float_range"] == [0.0, 3.5] and "--float-range 0:3.5" in finfo["command"]
    assert finfo["command"].split(" -o ")[1].startswith(f"{tmp_path}/f/enhanced/%06d.exr")
    for k in range(4):
        f = np.load(tmp_path / "f" / "depth" / f"{k:06d}.npy")
        want = _depth(k).astype(np.float32) / 1000
        assert f.dtype == np.float32 and np.array_equal(np.isnan(f), _depth(k) == 0)
        assert np.array_equal(f[_depth(k) > 0], want[_depth(k) > 0])
        assert np.array_equal(_read(tmp_path / "z" / "depth" / f"{k:06d}.png"), _depth(k))
        q = np.load(tmp_path / "q" / "depth" / f"{k:06d}.npy")  # quantised: within a step of 1 / (A / d^2)
        assert q.dtype == np.float32 and np.array_equal(np.isnan(q), _depth(k) == 0)
        assert np.allclose(q[_depth(k) > 0], want[_depth(k) > 0], rtol=0, atol=0.5 * 3.4**2 / QA)
        assert np.array_equal(_read(tmp_path / "z" / "color" / f"{k:06d}.png")[..., ::-1], _colour(k))


def test_the_printed_command_enhances_the_export(tmp_path, capsys):
    """The command bag.json holds runs, and gives what the Enhancer gives on the recorded arrays: depth k
    with the colour nearest it, shrunk to the depth's size as the command does, far-high up to 3000 mm."""
    from igde_stream import Enhancer
    from igde_stream.stream.rgb import resize_colour

    bag = tmp_path / "rec.bag"
    dts, cts = _realsense_bag(bag)
    assert main(["bag", str(bag), str(tmp_path / "rec")]) == 0
    command = json.loads((tmp_path / "rec" / "bag.json").read_text())["command"]
    argv = shlex.split(command)
    assert argv[0] == "igde-stream" and argv[-2:] == ["--max-depth", "3000"]
    assert main([*argv[1:], "-q", "--backend", "onnxruntime"]) == 0
    enh = Enhancer("igde-small", backend="onnxruntime", quiet=True, max_depth=3000, depth_order="far-high")
    for k, t in enumerate(dts):
        nearest = int(np.argmin([abs(c - t) for c in cts]))
        want = enh.enhance(resize_colour(_colour(nearest), (DW, DH)), _depth(k))
        assert np.array_equal(_read(tmp_path / "rec" / "enhanced" / f"{k:06d}.png"), want)


def test_refusals_leave_nothing(tmp_path, capsys):
    bag = tmp_path / "rec.bag"
    _realsense_bag(bag)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    cases = {
        (str(tmp_path / "taken"),): "exists: give a folder that does not exist yet",
        (str(tmp_path / "a"), "--depth-topic", "/nope"): "no image topic /nope; its image topics: ",
        (str(tmp_path / "a"), "--depth-topic", "/device_0/sensor_1/Color_0/image/data"): "holds rgb8 images, not depth",
        (str(tmp_path / "a"), "--color-topic", "/device_0/sensor_0/Depth_0/image/data"):
            "holds mono16 images, not colour",
        (str(tmp_path / "no" / "a"),): "its folder",
    }
    for extra, said in cases.items():
        assert main(["bag", str(bag), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0], err
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    # depth that changes size midway fails after images were written: no folder, no part left
    bad = tmp_path / "sizes.bag"
    _realsense_bag(bad, sizes=[(DW, DH)] * 4 + [(DW * 2, DH)] * 4)
    assert main(["bag", str(bad), str(tmp_path / "b")]) == 2
    assert "changes size at image 4 (64x24, first 32x24)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.bag", "sizes.bag", "taken"]


def test_ctrl_c_midway_leaves_nothing(tmp_path, capsys, monkeypatch):
    """Ctrl-C after some images were written: exit 130, no OUTDIR and no hidden part folder."""
    import cv2

    bag = tmp_path / "rec.bag"
    _realsense_bag(bag)
    written = []

    def imwrite(name, img):
        written.append(name)
        if len(written) == 5:
            raise KeyboardInterrupt
        return real(name, img)

    real = cv2.imwrite
    monkeypatch.setattr(cv2, "imwrite", imwrite)
    assert main(["bag", str(bag), str(tmp_path / "out")]) == 130
    assert len(written) == 5 and sorted(p.name for p in tmp_path.iterdir()) == ["rec.bag"]


def test_aligned_depth_is_chosen_and_infrared_guides_where_no_colour(tmp_path, capsys):
    """Depth aligned to the colour camera is preferred, whatever the names' order, and not warned about; a
    bag with an infrared camera (mono8) and no colour gets it as the guide, its gray in three equal channels."""
    rosbag2 = pytest.importorskip("rosbags.rosbag2", reason="needs rosbags (pip install \"igde-stream[ros]\")")
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    ir = [np.random.default_rng(k).integers(0, 256, (DH, DW), dtype=np.uint8) for k in range(3)]
    with rosbag2.Writer(tmp_path / "b", version=8) as w:
        con = {n: w.add_connection(n, "sensor_msgs/msg/Image", typestore=ts) for n in (
            "/cam1/aligned_depth_to_color/image_raw", "/cam0/depth/image_rect_raw", "/cam/infra1/image_rect_raw")}
        for k in range(3):
            t = T0 + k * 33_333_333
            for name, img in (("/cam1/aligned_depth_to_color/image_raw", _image(ts, t, _depth(k), "16UC1")),
                              ("/cam0/depth/image_rect_raw", _image(ts, t, _depth(k) + 7, "16UC1")),
                              ("/cam/infra1/image_rect_raw", _image(ts, t, ir[k], "mono8"))):
                w.write(con[name], t, ts.serialize_cdr(img, "sensor_msgs/msg/Image"))
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o")]) == 0
    said = capsys.readouterr()
    assert "/cam1/aligned_depth_to_color/image_raw 16UC1" in said.out and "not registered" not in said.err
    for k in range(3):
        assert np.array_equal(_read(tmp_path / "o" / "depth" / f"{k:06d}.png"), _depth(k))
        assert np.array_equal(_read(tmp_path / "o" / "color" / f"{k:06d}.png"), np.repeat(ir[k][..., None], 3, 2))


def test_a_damaged_bag_is_one_line(tmp_path, capsys):
    """Bytes zeroed in a ROS 1 bag's chunk (its index intact): the error rosbags raises while reading is one
    line, exit 2, nothing left; an error raised in this project's own code is not taken for one."""
    from igde_stream.bag_read import _raised_in

    bag = tmp_path / "rec.bag"
    _realsense_bag(bag)
    data = bytearray(bag.read_bytes())
    at = data.find(b"mono16", len(data) // 2)
    data[at - 200:at + 200] = bytes(400)
    bag.write_bytes(bytes(data))
    assert main(["bag", str(bag), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"igde-stream: error: {bag}: damaged: "), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.bag"]
    try:
        {}["op"]
    except KeyError as exc:
        assert not _raised_in(exc, [str(tmp_path)])
        assert _raised_in(exc, [str(Path(__file__).parent)])


def test_pairing_by_hand_at_ties_ends_and_the_gap():
    """Colour at 100, 200, 300 ns (given out of order): a depth image halfway between two takes the earlier
    (150 -> 100, 250 -> 200); before the first and after the last, the end one (50 -> 100, 400 -> 300); a
    colour image serves two depth images; --max-gap keeps a pair at exactly the gap, not past it; the
    default gap is the colour's median step (100 ns). Indices are the messages' own, in depth time order."""
    from igde_stream.bag_cli import _pairs

    colour = np.array([300, 100, 200], np.int64)  # message 0 is at 300 ns
    depth = np.array([150, 50, 350, 400, 250, 200], np.int64)
    pairs, gap = _pairs(depth, colour, None)
    assert gap == pytest.approx(100e-9)
    assert pairs == [(1, 1), (0, 1), (5, 2), (4, 2), (2, 0), (3, 0)]
    pairs, _ = _pairs(depth, colour, 50e-9)  # 50, 150, 250 and 350 are 50 ns off: kept; 400 is 100 ns off
    assert [i for i, _ in pairs] == [1, 0, 5, 4, 2]
    pairs, _ = _pairs(depth, colour, 49e-9)
    assert [i for i, _ in pairs] == [5]  # 200 alone is on a colour time


@pytest.mark.parametrize("fails", ["colour png", "depth npy", "pairs"])
def test_a_write_that_fails_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch, fails):
    """A disk that fills while the export writes: a colour PNG OpenCV could not write (imwrite answers
    False) was passed over and the folder renamed as complete, missing it; np.save's or the text files'
    OSError was a traceback. Now each is one line naming OUTDIR, exit 2, and nothing is left."""
    import errno

    import cv2

    bag = tmp_path / "ros2"
    _ros2_bag(bag, "sqlite3")
    argv = ["bag", str(bag), str(tmp_path / "out"), "-q"]
    if fails == "colour png":
        real = cv2.imwrite
        monkeypatch.setattr(cv2, "imwrite", lambda p, a, *r: False if "color" in p else real(p, a, *r))
    elif fails == "depth npy":
        argv += ["--depth-topic", "/cam/depth/float"]

        def full(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(np, "save", full)
    else:
        import builtins

        real_open = builtins.open
        monkeypatch.setattr(builtins, "open", lambda p, *a, **k: full_open(p) if str(p).endswith("pairs.txt")
                            else real_open(p, *a, **k))

        def full_open(p):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"igde-stream: error: {tmp_path / 'out'}: cannot be written"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ros2"]
