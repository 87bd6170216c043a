"""Seeded-bug review 72: the cases the area tests of the last session's changes let through (igde-stream bag:
REP 118's colour encodings, topic choice and --list, stamps of 0, one colour image, duplicate stamps, the
rate and pairs.txt, --max-depth and the float range over every image, --max-gap and OUTDIR; --align: frames
named with a slash, quaternions not of unit length, a compressed depth's size, holes, a turn, a lens with a
zero coefficient, a colour camera left of, below, behind or coarser than the depth camera, one frame, a
loop, rational_polynomial, a K without fy; the H.264 / HEVC level by rate; views quality --gt-measured's
share, figure frame, --start and warnings; the b16g hint's rate; tune_filters --real-scene and evaluate
--filters photo; --depth-channel for a ground truth, stdin and the letterbox advice). Expected values are
worked out by hand (pairs, percentiles, registered columns, level tables), with NumPy, OpenCV
(projectPoints, Rodrigues) or ffprobe, from bags written by rosbags' own writers; results/mutation.md
lists the bugs."""

from __future__ import annotations

import json
import math
import os
from fractions import Fraction
from types import SimpleNamespace as NS

import numpy as np
import pytest

from igde_stream.cli import main

T0 = 1_700_000_000 * 10**9


# --- igde-stream bag: decoding, choosing topics, pairing, the summary --------------------------------

def _msg(arr: np.ndarray, encoding: str, step: int | None = None) -> NS:
    h, w = arr.shape[:2]
    rows = np.ascontiguousarray(arr).view(np.uint8).reshape(h, -1)
    step = rows.shape[1] if step is None else step
    data = np.zeros((h, step), np.uint8)
    data[:, : min(step, rows.shape[1])] = rows[:, :step]
    return NS(height=h, width=w, step=step, data=data.reshape(-1), encoding=encoding, is_bigendian=0)


@pytest.mark.parametrize("encoding, order", [("rgb8", [0, 1, 2]), ("bgr8", [2, 1, 0]), ("rgba8", [0, 1, 2]),
                                             ("bgra8", [2, 1, 0]), ("mono8", [0, 0, 0])])
def test_each_colour_encoding_decodes_to_rgb(encoding, order):
    """REP 118's colour encodings by hand: a pixel of channels (10, 20, 30[, 40]) in the message's order is RGB
    (10, 20, 30) for rgb8 / rgba8, (30, 20, 10) for bgr8 / bgra8 (alpha, 40, dropped), and (10, 10, 10) for
    mono8; three channels always."""
    from igde_stream.bag_read import IMAGE, Topic, decode

    n = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}[encoding]
    px = np.zeros((2, 3, n), np.uint8)
    px[...] = np.array([10, 20, 30, 40][:n], np.uint8)
    px[1, 2, 0] = 99  # one pixel told apart: row 1, column 2, the message's first channel
    out = decode(_msg(px, encoding), Topic("/c", [], IMAGE, encoding, (3, 2), 1, "color"), "b")
    want = np.array([10, 20, 30, 40], np.uint8)[order]
    assert out.shape == (2, 3, 3) and (out[0, 0] == want).all(), out[0, 0]
    assert out[1, 2][order.index(0)] == 99 and (out[1, 1] == want).all()


def test_a_16_bit_message_whose_step_holds_8_bit_rows_is_damaged():
    """A 16UC1 image 4 wide needs 8 bytes a row: a step of 4 (rows of 8-bit samples) is a damaged message,
    one line naming its size, encoding and step, not a reshape error."""
    from igde_stream.bag_read import IMAGE, Topic, decode
    from igde_stream.errors import InputError

    m = _msg(np.zeros((3, 4), np.uint16), "16UC1", step=4)
    with pytest.raises(InputError, match=r"an image of 4x3 \(16UC1, step 4\) holds 12 bytes: a damaged message"):
        decode(m, Topic("/d", [], IMAGE, "16UC1", (4, 3), 1, "depth"), "b")


def test_an_upper_case_db3_is_a_ros2_bag(tmp_path):
    import sqlite3

    from igde_stream.bag_read import bag_kind

    db3 = tmp_path / "B_0.DB3"
    sqlite3.connect(db3).execute("create table t (x)").connection.close()
    assert bag_kind(db3) == "a ROS 2 bag (SQLite)"


def _bag(path, topics, ros1=False):
    """A bag of ``topics``: (name, [(log time, stamp, array, encoding)]), messages in log-time order;
    ``ros1``: a ROS 1 bag whose topics each have two connections (two publishers)."""
    from test_bag_export import _image

    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    events = sorted((lt, n, k) for n, (name, msgs) in enumerate(topics) for k, (lt, *_) in enumerate(msgs))
    if ros1:
        from rosbags import rosbag1

        with rosbag1.Writer(path) as w:
            cons = [[w.add_connection(name, "sensor_msgs/msg/Image", typestore=ts, callerid=f"/node{p}")
                     for p in (0, 1)] for name, _ in topics]
            for lt, n, k in events:
                _, stamp, arr, enc = topics[n][1][k]
                w.write(cons[n][k % 2], lt, ts.serialize_ros1(_image(ts, stamp, arr, enc), "sensor_msgs/msg/Image"))
        return
    from rosbags import rosbag2

    with rosbag2.Writer(path, version=8) as w:
        cons = [w.add_connection(name, "sensor_msgs/msg/Image", typestore=ts) for name, _ in topics]
        for lt, n, k in events:
            _, stamp, arr, enc = topics[n][1][k]
            w.write(cons[n], lt, ts.serialize_cdr(_image(ts, stamp, arr, enc), "sensor_msgs/msg/Image"))


def _d(k, value=3000):
    d = np.full((6, 8), value, np.uint16)
    d[0, 0] = 1000 + k
    return d


def _c(k):
    c = np.zeros((6, 8, 3), np.uint8)
    c[0, 0] = (k, 2 * k, 3 * k)
    return c


def _info(out):
    return json.loads((out / "bag.json").read_text())


def _pairs_txt(out):
    return [ln.split() for ln in (out / "pairs.txt").read_text().splitlines() if not ln.startswith("#")]


def test_list_counts_every_connection_sorts_topics_and_needs_no_outdir(tmp_path, capsys):
    """--list without OUTDIR: topics in name order whatever their connections' order, each counted over all
    its connections (a ROS 1 topic of two publishers: 3 + 2 images), a topic of another encoding 'not read'."""
    pytest.importorskip("rosbags.rosbag1")
    t = [T0 + k * 10**8 for k in range(5)]
    _bag(tmp_path / "r.bag", [("/z/depth/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(t)]),
                              ("/a/color/image_raw", [(s, s, _c(k), "rgb8") for k, s in enumerate(t)]),
                              ("/m/ir/image_raw", [(t[0], t[0], np.zeros((6, 8, 2), np.uint8), "rgb16")])],
         ros1=True)
    assert main(["bag", str(tmp_path / "r.bag"), "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["/a/color/image_raw  rgb8  8x6  5 images  color",
                     "/m/ir/image_raw  rgb16  8x6  1 images  not read",
                     "/z/depth/image_raw  16UC1  8x6  5 images  depth"]


def test_topics_chosen_colour_before_mono8_rgb_named_first_and_by_name(tmp_path, capsys):
    """Colour over an infrared mono8 topic sorted first by name; a topic named rgb before one named neither;
    among equals the first by name, whatever the order the connections were made in."""
    pytest.importorskip("rosbags.rosbag2")
    t = [T0 + k * 10**8 for k in range(3)]

    def run(names, out):
        _bag(tmp_path / out, [("/cam/depth/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(t)])]
             + [(n, [(s, s, _c(k) + i, e) for k, s in enumerate(t)]) for i, (n, e) in enumerate(names)])
        assert main(["bag", str(tmp_path / out), str(tmp_path / (out + "_o")), "-q"]) == 0
        return _info(tmp_path / (out + "_o"))["color_topic"]

    assert run([("/cam/a_infra/image_raw", "mono8"), ("/cam/x_camera/image_raw", "rgb8")], "m") == \
        "/cam/x_camera/image_raw"
    assert run([("/cam/a_camera/image_raw", "rgb8"), ("/cam/rgb/image_raw", "rgb8")], "r") == "/cam/rgb/image_raw"
    assert run([("/cam/z_color/image_raw", "rgb8"), ("/cam/b_color/image_raw", "rgb8")], "n") == \
        "/cam/b_color/image_raw"


def test_stamps_of_0_pair_by_the_time_logged(tmp_path):
    """Header stamps left 0 (a driver that sets none): each image's time is the time it was logged: depth
    logged at 0, 100, 200 ms pairs with colour logged at 0, 100, 200 ms, one to one, and pairs.txt says
    those times."""
    pytest.importorskip("rosbags.rosbag2")
    t = [T0 + k * 10**8 for k in range(3)]
    _bag(tmp_path / "b", [("/cam/depth/image_raw", [(s, 0, _d(k), "16UC1") for k, s in enumerate(t)]),
                          ("/cam/color/image_raw", [(s + 1000, 0, _c(k), "rgb8") for k, s in enumerate(t)])])
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "-q"]) == 0
    rows = _pairs_txt(tmp_path / "o")
    assert [float(r[2]) for r in rows] == pytest.approx([s / 1e9 for s in t], abs=1e-6)
    from test_bag_export import _read

    for k in range(3):
        assert tuple(_read(tmp_path / "o" / "color" / f"{k:06d}.png")[0, 0, ::-1]) == (k, 2 * k, 3 * k)


def test_bag_options_and_outdir_by_hand(tmp_path, capsys, monkeypatch):
    """--max-gap 0 and inf are refused as usage; an OUTDIR that is a dangling link is refused as existing
    (the link kept); a relative OUTDIR is written in the current folder."""
    pytest.importorskip("rosbags.rosbag2")
    t = [T0 + k * 10**8 for k in range(2)]
    _bag(tmp_path / "b", [("/cam/depth/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(t)]),
                            ("/cam/color/image_raw", [(s, s, _c(k), "rgb8") for k, s in enumerate(t)])])
    for gap in ("0", "inf"):
        with pytest.raises(SystemExit) as e:
            main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--max-gap", gap])
        assert e.value.code == 2 and "--max-gap must be a positive number of seconds" in capsys.readouterr().err
    os.symlink(tmp_path / "nowhere", tmp_path / "link")
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "link")]) == 2
    assert "exists" in capsys.readouterr().err and os.path.islink(tmp_path / "link")
    monkeypatch.chdir(tmp_path)
    assert main(["bag", "b", "rel", "-q"]) == 0
    assert _info(tmp_path / "rel")["pairs"] == 2


def test_one_colour_image_serves_every_depth_image(tmp_path):
    """With one colour image there is no colour step to bound the gap: every depth image takes it."""
    pytest.importorskip("rosbags.rosbag2")
    t = [T0 + k * 10**8 for k in range(3)]
    _bag(tmp_path / "b", [("/cam/depth/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(t)]),
                            ("/cam/color/image_raw", [(t[1] + 7, t[1] + 7, _c(5), "rgb8")])])
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "-q"]) == 0
    assert _info(tmp_path / "o")["pairs"] == 3 and _info(tmp_path / "o")["max_gap_s"] == math.inf


def test_two_colour_images_of_one_stamp_the_first_serves():
    """Two colour messages stamped alike (0 and 1, at 100 ns) and a depth image at 100 ns: equally near, the
    earlier message (0) serves, as at a tie between two times."""
    from igde_stream.bag_cli import _pairs

    pairs, _ = _pairs(np.array([100, 300], np.int64), np.array([100, 100, 300], np.int64), None)
    assert pairs == [(0, 0), (1, 2)]


def test_rate_and_pairs_times_by_hand(tmp_path):
    """Depth at 29.97 fps (steps of 1001/30000 s) with one image missing: --fps 29.97 (the median step, the
    gap aside), pairs.txt's times to the microsecond (TUM's form); colour at half the depth's rate with
    --max-gap 1 ms keeps every other depth image: --fps of those kept, 14.99 (2002/30000 s)."""
    pytest.importorskip("rosbags.rosbag2")
    step = Fraction(10**9 * 1001, 30000)
    dts = [T0 + 123_456_789 + round(k * step) for k in (0, 1, 2, 3, 5, 6)]
    _bag(tmp_path / "b", [("/cam/depth/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(dts)]),
                            ("/cam/color/image_raw", [(s, s, _c(k), "rgb8") for k, s in enumerate(dts)])])
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "-q"]) == 0
    info = _info(tmp_path / "o")
    assert info["fps"] == "29.97" and info["command"].split("--fps ")[1].startswith("29.97 ")
    rows = _pairs_txt(tmp_path / "o")
    assert rows[0][0] == "1700000000.123457" and rows[0][2] == "1700000000.123457"
    dts = [T0 + round(k * step) for k in range(8)]
    _bag(tmp_path / "h", [("/cam/depth/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(dts)]),
                            ("/cam/color/image_raw", [(s, s, _c(k), "rgb8") for k, s in enumerate(dts[::2])])])
    assert main(["bag", str(tmp_path / "h"), str(tmp_path / "ho"), "-q", "--max-gap", "0.001"]) == 0
    info = _info(tmp_path / "ho")
    assert info["pairs"] == 4 and info["fps"] == "14.99"


def test_max_depth_by_hand(tmp_path):
    """--max-depth from the 99.5th percentile of every image's measured values (NumPy's inverted_cdf over
    the images together), rounded up to half a metre, at most 65535: image 0 holds 451 values 1000, 45
    values 3001 and 4 far ones (9000), image 1 499 values 1000 and a 0: the 995th of 999 is 3001 -> 3500
    (the 95th percentile, 1000, would give 1000); an image
    of 65501 beside one of 1000: 65501 -> 66000, capped to 65535."""
    pytest.importorskip("rosbags.rosbag2")
    d0 = np.full((20, 25), 1000, np.uint16)
    d0.ravel()[451:496], d0.ravel()[496:] = 3001, 9000
    d1 = np.full((20, 25), 1000, np.uint16)
    d1[0, 0] = 0  # not measured: left out of the count
    vals = np.concatenate([d0.ravel(), d1.ravel()[d1.ravel() > 0]])
    assert np.percentile(vals, 99.5, method="inverted_cdf") == 3001
    c = np.zeros((20, 25, 3), np.uint8)
    t = [T0, T0 + 10**8]
    _bag(tmp_path / "b", [("/cam/depth/image_raw", [(t[0], t[0], d0, "16UC1"), (t[1], t[1], d1, "16UC1")]),
                            ("/cam/color/image_raw", [(s, s, c, "rgb8") for s in t])])
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "-q"]) == 0
    assert _info(tmp_path / "o")["max_depth"] == 3500
    far = np.full((20, 25), 65501, np.uint16)
    _bag(tmp_path / "f", [("/cam/depth/image_raw", [(t[0], t[0], far, "16UC1"), (t[1], t[1], d1, "16UC1")]),
                            ("/cam/color/image_raw", [(s, s, c, "rgb8") for s in t])])
    assert main(["bag", str(tmp_path / "f"), str(tmp_path / "fo"), "-q"]) == 0
    assert _info(tmp_path / "fo")["max_depth"] == 65535


def test_float_export_by_hand(tmp_path, capsys):
    """32FC1 metres: the float range's top over every image (3.42 m in the first, 2 m in the last -> 3.5,
    rounded up to 0.1 m), pairs.txt naming the .npy files, the units said as 1 m."""
    pytest.importorskip("rosbags.rosbag2")
    f0 = np.full((6, 8), 2.0, np.float32)
    f0[2, 3] = 3.42
    f1 = np.full((6, 8), 2.0, np.float32)
    t = [T0, T0 + 10**8]
    _bag(tmp_path / "b", [("/cam/depth/image_raw", [(t[0], t[0], f0, "32FC1"), (t[1], t[1], f1, "32FC1")]),
                            ("/cam/color/image_raw", [(s, s, _c(k), "rgb8") for k, s in enumerate(t)])])
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert _info(tmp_path / "o")["float_range"] == [0.0, 3.5]
    assert [r[3] for r in _pairs_txt(tmp_path / "o")] == ["depth/000000.npy", "depth/000001.npy"]
    assert "in units of 1 m, 32FC1 is metres" in out


def test_colour_changing_size_is_refused_and_a_registered_topic_not_warned(tmp_path, capsys):
    pytest.importorskip("rosbags.rosbag2")
    t = [T0 + k * 10**8 for k in range(2)]
    _bag(tmp_path / "b", [("/cam/depth/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(t)]),
                            ("/cam/color/image_raw", [(t[0], t[0], _c(0), "rgb8"),
                                                      (t[1], t[1], np.zeros((12, 16, 3), np.uint8), "rgb8")])])
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o")]) == 2
    assert "colour topic /cam/color/image_raw changes size at image 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    _bag(tmp_path / "r", [("/camera/depth_registered/image_raw", [(s, s, _d(k), "16UC1") for k, s in enumerate(t)]),
                            ("/camera/rgb/image_raw", [(s, s, _c(k), "rgb8") for k, s in enumerate(t)])])
    assert main(["bag", str(tmp_path / "r"), str(tmp_path / "ro")]) == 0
    assert "not registered" not in capsys.readouterr().err and _info(tmp_path / "ro")["aligned"]


# --- igde-stream bag --align ---------------------------------------------------------------------------

K = np.array([[40.0, 0, 15.5], [0, 40.0, 11.5], [0, 0, 1]])  # 32 x 24, both cameras


def _align_bag(path, slash="", compressed_depth=False, depth_info_size=(32, 24), quat=(0.0, 0.0, 0.0, 1.0),
               depth=None):
    """A ROS 2 bag of one depth and one colour image, both cameras of K, the colour optical frame a child of
    the depth's (the identity, or ``quat``), frame names with a leading ``slash`` as ROS 1 drivers wrote them."""
    import struct

    import cv2
    from rosbags import rosbag2
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    t = ts.types
    stamp = t["builtin_interfaces/msg/Time"](sec=T0 // 10**9, nanosec=0)
    dframe, cframe = slash + "depth_optical", slash + "colour_optical"

    def header(frame):
        return t["std_msgs/msg/Header"](stamp=stamp, frame_id=frame)

    def info(w, h, frame):
        roi = t["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        return t["sensor_msgs/msg/CameraInfo"](header=header(frame), height=h, width=w, distortion_model="plumb_bob",
                                               d=np.zeros(5), k=K.ravel(), r=np.eye(3).ravel(),
                                               p=np.c_[K, np.zeros(3)].ravel(), binning_x=0, binning_y=0, roi=roi)

    def image(arr, enc, frame):
        data = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
        return t["sensor_msgs/msg/Image"](header=header(frame), height=arr.shape[0], width=arr.shape[1], encoding=enc,
                                          is_bigendian=0, step=data.size // arr.shape[0], data=data)

    d = depth if depth is not None else np.full((24, 32), 1500, np.uint16)
    if compressed_depth:
        data = np.concatenate([np.frombuffer(struct.pack("<iff", 0, 0, 0), np.uint8),
                               cv2.imencode(".png", d)[1].ravel()])
        dmsg = ("/cam/depth/image_raw/compressedDepth", t["sensor_msgs/msg/CompressedImage"](
            header=header(dframe), format="16UC1; compressedDepth png", data=data))
    else:
        dmsg = ("/cam/depth/image_raw", image(d, "16UC1", dframe))
    tr = t["geometry_msgs/msg/Transform"](translation=t["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.0),
                                          rotation=t["geometry_msgs/msg/Quaternion"](x=quat[0], y=quat[1], z=quat[2],
                                                                                     w=quat[3]))
    msgs = [dmsg, ("/cam/color/image_raw", image(np.zeros((24, 32, 3), np.uint8), "rgb8", cframe)),
            ("/cam/depth/camera_info", info(*depth_info_size, dframe)),
            ("/cam/color/camera_info", info(32, 24, cframe)),
            ("/tf_static", t["tf2_msgs/msg/TFMessage"](transforms=[t["geometry_msgs/msg/TransformStamped"](
                header=header(dframe), child_frame_id=cframe, transform=tr)]))]
    with rosbag2.Writer(path, version=8) as w:
        for topic, msg in msgs:
            con = w.add_connection(topic, msg.__msgtype__, typestore=ts)
            w.write(con, T0, ts.serialize_cdr(msg, msg.__msgtype__))


def test_align_reads_frame_names_with_a_leading_slash(tmp_path, capsys):
    """ROS 1 drivers named frames /camera_..., in camera_info and /tf_static alike (tf2 drops the slash): the
    cameras are joined; one camera, one place: the registered depth is the depth itself."""
    pytest.importorskip("rosbags.rosbag2")
    from test_bag_export import _read

    d = (1000 + np.arange(24 * 32).reshape(24, 32)).astype(np.uint16)
    _align_bag(tmp_path / "b", slash="/", depth=d)
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align", "-q"]) == 0, capsys.readouterr().err
    assert np.array_equal(_read(tmp_path / "o" / "depth" / "000000.png"), d)


def test_align_checks_a_compressed_depths_size_once_decoded(tmp_path, capsys):
    """A compressedDepth topic's size is known decoded: 32x24 against a depth camera_info of 64x48 is refused,
    naming both, nothing left."""
    pytest.importorskip("rosbags.rosbag2")
    _align_bag(tmp_path / "b", compressed_depth=True, depth_info_size=(64, 48))
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/cam/depth/image_raw/compressedDepth is 32x24 and its camera_info says 64x48" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_quaternion_not_of_unit_length_is_the_rotation_it_stands_for():
    """(0, 0, 2 sin(a/2), 2 cos(a/2)) is the turn by a about z (tf2 normalises): OpenCV's Rodrigues of (0, 0, a)."""
    import cv2

    from igde_stream.bag_align import _matrix

    a = 0.3
    m = _matrix(NS(translation=NS(x=1.0, y=2.0, z=3.0),
                   rotation=NS(x=0.0, y=0.0, z=2 * math.sin(a / 2), w=2 * math.cos(a / 2))))
    assert np.allclose(m[:3, :3], cv2.Rodrigues(np.array([0.0, 0.0, a]))[0], atol=1e-12)
    assert np.array_equal(m[:3, 3], [1.0, 2.0, 3.0])


def _aligner(colour_origin, kc=K, csize=(32, 24), dist=(), roll=0.0):
    from igde_stream.bag_align import Aligner, Camera, _matrix, depth_to_colour

    tr = NS(translation=NS(x=colour_origin[0], y=colour_origin[1], z=colour_origin[2]),
            rotation=NS(x=0.0, y=0.0, z=float(np.sin(roll / 2)), w=float(np.cos(roll / 2))))
    rt = depth_to_colour({"colour": ("depth", _matrix(tr))}, "depth", "colour")
    return Aligner(Camera(K, np.zeros(5), (32, 24), "depth"), Camera(kc, np.asarray(dist, float), csize, "colour"), rt,
                   0.001)


def test_depth_holes_stay_holes_with_the_colour_camera_behind():
    """The colour camera 1 cm behind the depth camera: a wall at 1 m is 1.01 m from it; the depth's holes (0)
    are no points: the colour camera's centre sees the wall, at 1010 mm, not a point at 10 mm (a hole taken as
    a point at the depth camera's centre)."""
    d = np.full((24, 32), 1000, np.uint16)
    d[:4, :4] = 0
    out = _aligner((0.0, 0.0, -0.01))(d)
    assert out[11, 15] == 1010 and out[12, 16] == 1010 and out.max() == 1010


@pytest.mark.parametrize("roll", [0.3, 0.5, 1.0])
def test_a_near_box_seen_through_a_turn_covers_every_colour_pixel_it_holds(roll):
    """The colour camera turned by ``roll`` about the optical axis (same place, same K): a colour pixel's
    centre (x, y) from the principal point is the depth camera's (x cos r - y sin r, x sin r + y cos r);
    every colour pixel whose centre so falls inside the near box's squares (depth columns 10..19, rows 8..15)
    reads the box's 1000, the nearest (each square covers the colour pixels its four corners' box holds;
    the box of three corners leaves some out)."""
    d = np.full((24, 32), 1500, np.uint16)
    d[8:16, 10:20] = 1000
    out = _aligner((0.0, 0.0, 0.0), roll=roll)(d)
    x, y = np.meshgrid(np.arange(32.0) - 15.5, np.arange(24.0) - 11.5)
    ud = x * math.cos(roll) - y * math.sin(roll) + 15.5
    vd = x * math.sin(roll) + y * math.cos(roll) + 11.5
    held = (ud > 9.5) & (ud < 19.5) & (vd > 7.5) & (vd < 15.5)
    assert held.sum() > 70 and (out[held] == 1000).all(), np.argwhere(held & (out != 1000))


def test_a_lens_distortion_with_a_zero_coefficient_moves_the_depth_where_opencv_projects_it():
    """k1 = 0.8 and the rest 0 (plumb_bob): a near spot at depth pixel (28, 21) lands where cv2.projectPoints
    puts its centre (29.5, 22.2), a pixel or two further out than a pinhole would."""
    import cv2

    d = np.full((24, 32), 2000, np.uint16)
    d[21, 28] = 1000
    dist = (0.8, 0.0, 0.0, 0.0, 0.0)
    out = _aligner((0.0, 0.0, 0.0), dist=dist)(d)
    p = np.array([[(28 - 15.5) / 40, (21 - 11.5) / 40, 1.0]])
    (u, v), = cv2.projectPoints(p, np.zeros(3), np.zeros(3), K, np.array(dist))[0].reshape(-1, 2)
    assert (round(u), round(v)) != (28, 21)
    assert out[round(v), round(u)] == 1000


def _hand_aligner(kd, dsize, kc, csize, origin):
    from igde_stream.bag_align import Aligner, Camera, _matrix, depth_to_colour

    tr = NS(translation=NS(x=origin[0], y=origin[1], z=origin[2]), rotation=NS(x=0.0, y=0.0, z=0.0, w=1.0))
    rt = depth_to_colour({"colour": ("depth", _matrix(tr))}, "depth", "colour")
    return Aligner(Camera(kd, np.zeros(5), dsize, "depth"), Camera(kc, np.zeros(5), csize, "colour"), rt, 0.001)


KH = np.array([[100.0, 0, 19.5], [0, 100.0, 3.5], [0, 0, 1]])  # 40 x 8


def test_registration_by_hand_the_colour_camera_left_of_the_depth():
    """f = 100 px, the colour 5 cm to the depth camera's left: points move 100 * 0.05 / z px right, 5 for the
    wall at 1 m, 10 for the box at 0.5 m (depth columns 20..25 -> colour 30..35). Colour columns 31..35 see
    both the box and the wall of depth columns 26..30, written after it: the nearest, the box, is kept; 25..29
    look at the wall the box hides (holes), 0..4 beyond the depth camera's view. As float metres the holes
    are NaN."""
    d = np.full((8, 40), 1000, np.uint16)
    d[:, 20:26] = 500
    want = np.zeros(40, np.uint16)
    want[5:25], want[30:36], want[36:40] = 1000, 500, 1000
    out = _hand_aligner(KH, (40, 8), KH, (40, 8), (-0.05, 0.0, 0.0))(d)
    assert (out == want).all(), out[0]
    outf = _hand_aligner(KH, (40, 8), KH, (40, 8), (-0.05, 0.0, 0.0))(d.astype(np.float32) / 1000)
    assert np.array_equal(np.isnan(outf), np.broadcast_to(want == 0, outf.shape))
    assert np.allclose(outf[~np.isnan(outf)] * 1000, np.broadcast_to(want, outf.shape)[~np.isnan(outf)])


def test_registration_by_hand_rows_above_the_colour_view_do_not_wrap():
    """The colour camera 2 cm below (f = 100, wall at 1 m): points move 2 px up; colour rows 0..5 see depth
    rows 2..7, rows 6..7 look beyond the depth view (holes); depth rows 0..1 fall above the colour view."""
    out = _hand_aligner(KH, (40, 8), KH, (40, 8), (0.0, 0.02, 0.0))(np.full((8, 40), 1000, np.uint16))
    assert (out[:6] == 1000).all() and (out[6:] == 0).all(), out[:, 0]


def test_registration_by_hand_depth_in_the_colour_camera_rounded():
    """The colour camera 13 mm behind the depth camera: a wall at 1000 mm is at 1013 mm from it (exact in
    units of 1 mm: rounded, not cut to 1012 by the float's 1012.9999)."""
    out = _hand_aligner(KH, (40, 8), KH, (40, 8), (0.0, 0.0, -0.013))(np.full((8, 40), 1000, np.uint16))
    assert out[4, 20] == 1013 and out[3, 19] == 1013


def test_registration_by_hand_a_colour_camera_of_a_quarter_of_the_resolution():
    """The colour camera of the same view at a quarter of the resolution (f 25, 10 x 2): depth pixel u lands at
    u / 4 - 0.375, so each colour pixel k holds depth columns 4k..4k+3 (and rows alike), most squares smaller
    than a colour pixel (each taken at the colour pixel nearest its centre): the registered depth is the
    nearest of each 4 x 4 block, NumPy's min over the blocks."""
    kc = np.array([[25.0, 0, 4.5], [0, 25.0, 0.5], [0, 0, 1]])
    d = np.random.default_rng(3).integers(1000, 3000, (8, 40)).astype(np.uint16)
    out = _hand_aligner(KH, (40, 8), kc, (10, 2), (0.0, 0.0, 0.0))(d)
    assert np.array_equal(out, d.reshape(2, 4, 10, 4).min(axis=(1, 3))), out


def test_transforms_one_frame_and_a_loop():
    """Depth and colour in one optical frame: the identity, whatever /tf_static holds; a /tf_static of a loop
    (a -> b -> a) ends (no tree: not joined to c)."""
    import threading

    from igde_stream.bag_align import depth_to_colour

    assert np.array_equal(depth_to_colour({}, "cam", "cam"), np.eye(4))
    got = []
    th = threading.Thread(target=lambda: got.append(depth_to_colour({"a": ("b", np.eye(4)), "b": ("a", np.eye(4))},
                                                                    "a", "c")), daemon=True)
    th.start()
    th.join(10)
    assert got == [None]


def test_align_takes_rational_polynomial_distortion_and_refuses_a_k_without_fy(tmp_path, capsys):
    """The Azure Kinect driver's rational_polynomial, 8 coefficients, is OpenCV's order: read; a K whose fy is
    0 is no calibration: refused in one line."""
    pytest.importorskip("rosbags.rosbag2")
    import test_bag_align as ba

    rational = np.array([0.05, -0.02, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0])
    ba._bag(tmp_path / "b", colour_model=("rational_polynomial", rational))
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align", "-q"]) == 0, capsys.readouterr().err
    k = ba.KD.copy()
    k[1, 1] = 0
    ba._bag(tmp_path / "z", kd=k)
    assert main(["bag", str(tmp_path / "z"), str(tmp_path / "zo"), "--align"]) == 2
    assert "/cam/depth/camera_info) holds no calibration" in capsys.readouterr().err


# --- the H.264 / HEVC level by frame rate (stream/levels.py) -------------------------------------------

def test_level_rate_edges_by_hand():
    """From the tables (H.264 Table A-1, H.265 Annex A): 4096x2304 is 36,864 macroblocks, x 56.25 fps =
    2,073,600 (level 5.2's MaxMBPS: held), x 56.3 = 2,075,443 (over: level 6, a rate not cut to whole frames);
    at 59.94 fps (2,209,628) the rate is said as 59.94; an HEVC frame over 5.x's size at exactly 5.2's sample rate
    (9,437,184 x 340/3 = 1,069,547,520) is over by its size alone; 7680x4320 HEVC at 120 fps, 3,981,312,000
    samples a second, is level 6.2's (4,278,190,080)."""
    from igde_stream.stream.levels import level_note

    assert level_note("h264", 4096, 2304, rate=Fraction(225, 4)) == ""
    assert "2,075,443 macroblocks a second at 56.3 fps" in level_note("h264", 4096, 2304, rate=56.3)
    assert "2,209,628 macroblocks a second at 59.94 fps" in level_note("h264", 4096, 2304, rate=59.94)
    note = level_note("hevc", 4096, 2304, rate=Fraction(340, 3))
    assert "are coded at level 6," in note and "a second" not in note and "lower frame rate" not in note
    assert "are coded at level 6.2, which decoders" in level_note("hevc", 7680, 4320, rate=120)


def test_level_words_by_hand():
    """HEVC 8448x1000 is over by its side alone (8448 > 8444): said with its pixels; H.264 8688x32 (543
    macroblocks wide: level 5.2's widest) at 2000 fps is over by its rate alone, not its width; a display's
    own size over the rate (no smaller input to give) still names a lower frame rate."""
    from igde_stream.stream.levels import level_note

    assert level_note("hevc", 8448, 1000).startswith("8448x1000 frames (8,448,000 pixels, over the 8,912,896 (sides "
                                                     "up to 8444) of HEVC level 5.x) are coded at level 6,")
    note = level_note("h264", 8688, 32, rate=2000)
    assert note.startswith("8688x32 frames (2,172,000 macroblocks a second at 2000 fps, over the 2,073,600") and \
        "wide" not in note
    assert level_note("h264", 4096, 2304, "", 60).endswith("; for those: a lower frame rate")


def test_the_writer_warns_by_its_frame_rate_at_the_first_frame(tmp_path, caplog):
    """Without a size given ahead, the warning comes with the first frame, by the writer's rate: 640x480 is
    40 x 30 = 1,200 macroblocks, x 2000 fps = 2,400,000 a second, over level 5.2's 2,073,600."""
    import logging

    from igde_stream.stream.view_writers import ColorWriter

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        w = ColorWriter(tmp_path / "f.mp4", "h264", Fraction(2000), Fraction(1, 2000))
        w.write(np.zeros((480, 640, 3), np.uint8), 0)
        w.abort()
    said = [r.getMessage() for r in caplog.records if "coded at level" in r.getMessage()]
    assert len(said) == 1 and "2,400,000 macroblocks a second at 2000 fps" in said[0]


# --- views quality --gt-measured --------------------------------------------------------------------------

def _gtm_inputs(tmp_path, gts):
    from conftest import write_video

    h, w = gts[0].shape
    rng = np.random.default_rng(3)
    colors = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in gts]
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            write_video(tmp_path / "g.mkv", gts, fmt="gray"),
            write_video(tmp_path / "d.mkv", [np.full((h, w), 255, np.uint8)] * len(gts), fmt="gray"))


def test_gt_measured_share_over_every_frame_and_the_figure_frame(tmp_path):
    """Ground truth 255 (nearest) but for an unmeasured block (0), --zero-parallax 1: every measured pixel
    stays in place in every view (tests/test_views_quality_gt_measured.py), so a view's measured share is
    1 - block / frame: 96 and 48 of 960 pixels in frames 0 and 1 -> the mean share 1 - 72 / 960; the figure
    frame is the first used at or after the one asked for (0 -> 0, 1 -> 1)."""
    from igde_stream import multiview as mv
    from igde_stream.stream.views import view_quality_files

    g0, g1 = np.full((24, 40), 255, np.uint8), np.full((24, 40), 255, np.uint8)
    g0[8:16, 12:24], g1[8:16, 12:18] = 0, 0
    c, g, d = _gtm_inputs(tmp_path, [g0, g1])
    cfg = mv.ViewConfig(n_views=2, baseline=4, zero_parallax=1)
    summary, fig = view_quality_files(c, g, {"filled": d}, cfg, gt_measured=True)
    assert summary["measured_share"] == pytest.approx(1 - 72 / 960) and fig[0] == 0
    _, fig = view_quality_files(c, g, {"filled": d}, cfg, gt_measured=True, figure_frame=1)
    assert fig[0] == 1


def test_gt_measured_with_start_and_every_frame_unmeasured_names_the_ground_truth(tmp_path, capsys):
    """Three frames at 30000/1001 fps (0, 0.033, 0.067 s), --start 0.05: frame 2 alone is used, and has no
    measured pixel: the refusal says so (not that no depth frame lies at or after the start, which one does)."""
    from igde_stream import views_cli

    zero = np.zeros((24, 40), np.uint8)
    c, g, d = _gtm_inputs(tmp_path, [zero] * 3)
    assert views_cli.main(["quality", str(c), "--gt", str(g), "--depth", f"filled={d}", "--views", "2",
                           "--gt-measured", "--start", "0.05", "--report", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "no measured ground-truth pixel (every pixel 0) in the 1 frame(s) used" in err, err


# --- raw16: the Azure Kinect b16g hint ---------------------------------------------------------------------

def test_untagged_raw16_hint_names_the_tracks_own_rate(tmp_path):
    """An Azure Kinect depth track at 15 fps (the recorder's 15 fps mode), copied without its tag: the command
    named reads it at --fps 15, the track's rate (ffprobe's r_frame_rate 15/1), not 30."""
    import subprocess

    import av

    from igde_stream.stream.raw16 import hint

    np.full((2, 8, 16), 3000, ">u2").tofile(tmp_path / "d.raw")
    out = tmp_path / "u.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray16be", "-s", "16x8", "-framerate",
                    "15", "-i", str(tmp_path / "d.raw"), "-c:v", "rawvideo", "-allow_raw_vfw", "1", str(out)],
                   check=True)
    rate = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate",
                           "-of", "csv=p=0", str(out)], capture_output=True, text=True, check=True).stdout.strip()
    assert rate == "15/1"
    with av.open(str(out)) as container:
        said = hint(container, str(out))
    assert "--size 16x8 --pix-fmt gray16be --fps 15 -o OUT" in said, said


# --- the filters tuned on a photograph (tools/tune_filters.py --real-scene, filters.PHOTO_SETTINGS) ---------

def _tune_tool():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("tune_filters_tool72", Path(__file__).resolve().parents[1] / "tools"
                                                  / "tune_filters.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tune_real_scene_input_psnr_scale_and_error_type(tmp_path, monkeypatch, capsys):
    """--real-scale 0.5 and --errors mix: the frames are those of disparity_file_sequence at half size with the
    mix's errors (24 x 32 of the 48 x 64 pair), and the input PSNR printed is over their measured pixels
    (NumPy's mean of the squared error there): both recomputed here."""
    from test_tune_filters_photo import _pair

    from igde_stream.data.error_types import error_type_config
    from igde_stream.real_frames import disparity_file_sequence

    tool = _tune_tool()
    monkeypatch.setitem(tool.PHOTO_GRIDS, "guided", {"radius": [2], "eps": [1e-4]})
    c, d = _pair(tmp_path)
    out = tmp_path / "t.json"
    assert tool.main(["--frames", "0", "--errors", "mix", "--real-scene", c, d, "--real-scale", "0.5",
                      "--real-frames", "2", "--grid", "photo", "--filters", "guided", "--out", str(out)]) == 0
    seq = disparity_file_sequence(c, d, error_type_config("mix"), frames=2, scale=0.5)
    assert seq.depth[0].shape == (24, 32)
    mse = np.mean([np.mean((seq.depth[t].astype(np.float64) - seq.gt[t])[seq.valid[t]] ** 2) for t in range(2)])
    assert f"input PSNR {10 * np.log10(255 ** 2 / mse):.2f} dB" in capsys.readouterr().out


def test_tune_refuses_zero_draws_and_a_bad_pair_first(tmp_path, capsys):
    tool = _tune_tool()
    from test_tune_filters_photo import _pair

    c, d = _pair(tmp_path)
    for argv, said in ((["--real-scene", c, d, "--real-frames", "0"], "--real-frames must be >= 1"),
                       (["--real-scene", c, str(tmp_path / "missing.png")], "--real-scene: ")):
        with pytest.raises(SystemExit) as e:
            tool.main(["--frames", "0", *argv, "--out", str(tmp_path / "x.json")])
        assert e.value.code == 2 and said in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_the_recorded_photo_tuning_is_the_photo_grid():
    """results/filter_tuning_photo.json, the record PHOTO_SETTINGS come from, scored every setting of the
    photo grid, each once: its rows are itertools.product of PHOTO_GRIDS, in order."""
    import itertools
    from pathlib import Path

    tool = _tune_tool()
    record = json.loads((Path(__file__).resolve().parents[1] / "results" / "filter_tuning_photo.json").read_text())
    assert record["grid"] == "photo"
    for name, grid in tool.PHOTO_GRIDS.items():
        want = [dict(zip(grid, v)) for v in itertools.product(*grid.values())]
        assert [r["params"] for r in record["filters"][name]["grid"]] == want, name


def test_evaluate_filters_photo_scores_each_filter_at_its_photo_settings(tmp_path):
    """tools/evaluate.py --filters photo: one row per filter at PHOTO_SETTINGS, named <filter>-photo (the
    batch method of that name), not the defaults again: the photo global smoother (lam 64, low 0.3) scores
    otherwise than the default one (lam 1024, low 0.02) on the same frame."""
    import importlib.util
    from pathlib import Path

    from igde_stream.filters import FILTERS

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("evaluate_tool72", root / "tools" / "evaluate.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    common = ["--model", "none", "--sequences", "1", "--frames", "1", "--size", "64x48", "--no-icl", "--no-middlebury",
              "--errors", "paper", "--views", "0"]
    assert ev.main([*common, "--filters", "photo", "--out", str(tmp_path / "p")]) == 0
    rows = json.loads((tmp_path / "p" / "eval.json").read_text())["rows"]
    got = {r["method"]: r["psnr"] for r in rows if r["method"].startswith("filter:")}
    assert sorted(got) == sorted(f"filter:{n}-photo" for n in FILTERS)
    assert ev.main([*common, "--filters", "all", "--out", str(tmp_path / "a")]) == 0
    rows = json.loads((tmp_path / "a" / "eval.json").read_text())["rows"]
    default = {r["method"]: r["psnr"] for r in rows if r["method"].startswith("filter:")}
    assert got["filter:global-smoother-photo"] != default["filter:global-smoother"]


def test_gt_measured_range_warnings_once_though_the_first_frame_is_left_out(tmp_path, caplog):
    """Depth of 50..60 (8-bit, near-high) spans 4 % of 0..255: the range warning is said once, at the first
    frame read, though that frame (ground truth 0 throughout) is left out of the scores."""
    import logging

    from conftest import write_video

    from igde_stream import multiview as mv
    from igde_stream.stream.views import view_quality_files

    g1 = np.full((24, 40), 255, np.uint8)
    g1[8:16, 12:24] = 0
    c, g, _ = _gtm_inputs(tmp_path, [np.zeros((24, 40), np.uint8), g1, g1])
    rng = np.random.default_rng(1)
    d = write_video(tmp_path / "near.mkv", [rng.integers(50, 61, (24, 40), dtype=np.uint8) for _ in range(3)],
                    fmt="gray")
    with caplog.at_level(logging.WARNING):
        summary, _ = view_quality_files(c, g, {"d": d}, mv.ViewConfig(n_views=2, baseline=4, zero_parallax=1),
                                        gt_measured=True)
    said = [r.getMessage() for r in caplog.records if "depth values span only" in r.getMessage()
            and str(d) in r.getMessage()]
    assert summary["frames_without_measured_gt"] == [0] and len(said) == 1, said


# --- --depth-channel -----------------------------------------------------------------------------------------

def test_depth_channel_choice_is_the_depths_alone(tmp_path):
    """--depth-channel depth.Z beside a ground truth of Z alone: the ground truth is read from its Z (the choice
    is the depth's; a ground truth takes it only where two of its channels are named as depth); a choice for
    stdin depth is refused, as for any depth that is no OpenEXR; a NUL in the name is no channel name; an RGBA
    OpenEXR ground truth's refusal names the rename, not the depth's option."""
    from test_exr_depth_channel import _frame, write_exr

    from igde_stream.errors import InputError
    from igde_stream.stream.arrays import is_array_input
    from igde_stream.stream.reader import VideoReader
    from igde_stream.stream.sources import InputOptions

    z, _ = _frame(0)
    write_exr(tmp_path / "gt.exr", {"Z": z, "G": z * 0})
    with VideoReader(str(tmp_path / "gt.exr"), "gt", source=InputOptions(depth_channel="depth.Z")) as r:
        np.testing.assert_array_equal(next(r.frames()).data, z)
    with pytest.raises(InputError, match="the channel is chosen in OpenEXR depth"):
        is_array_input("-", "depth", "Z")
    with pytest.raises(ValueError, match="depth_channel must be an OpenEXR channel name"):
        InputOptions(depth_channel="Z\0")
    write_exr(tmp_path / "rgba.exr", {"R": z, "G": z * 0, "B": z * 0, "A": z * 0 + 1})
    with pytest.raises(InputError) as info:
        VideoReader(str(tmp_path / "rgba.exr"), "gt")
    assert "rename that channel Z" in str(info.value) and "--depth-channel" not in str(info.value)


def test_the_letterbox_advice_reads_the_chosen_channel(tmp_path):
    """The chosen channel (depth.Z) holds a 64x36 picture between bars of 0 in a 64x64 frame, beside a Z of
    3 m throughout: the advice for 16:9 colour finds the picture at y = 14 in the channel read, by hand."""
    from test_exr_depth_channel import write_exr

    from igde_stream.stream.bars import crop_advice
    from igde_stream.stream.reader import VideoReader
    from igde_stream.stream.sources import InputOptions

    box = np.zeros((64, 64), np.float32)
    box[14:50] = np.linspace(1, 2, 64, dtype=np.float32)[None, :]
    write_exr(tmp_path / "d.exr", {"Z": np.full((64, 64), 3.0, np.float32), "depth.Z": box})
    with VideoReader(str(tmp_path / "d.exr"), "depth", source=InputOptions(depth_channel="depth.Z")) as r:
        said = crop_advice(r, 64 / 36)
    assert "holds the picture in 64x36 at x=0, y=14" in said and "[14:50, 0:64]" in said, said
