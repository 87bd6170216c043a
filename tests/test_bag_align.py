"""``igde-stream bag --align``: depth registered to the colour camera with the bag's camera_info and
/tf_static. The scene is known: a box 1 m away before a wall at 2 m, seen by a depth camera and by a
colour camera 5 cm beside it, turned by 0.08 rad and of another size; the registered depth is compared
with the depth the colour camera would see, found here by casting its own rays (the transforms built
from axis-angle rotations with OpenCV, the bag given their quaternions)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from igde_stream.cli import main

rosbag2 = pytest.importorskip("rosbags.rosbag2", reason="needs rosbags (pip install \"igde-stream[ros]\")")

T0 = 1_700_000_000 * 10**9
DW, DH, CW, CH = 64, 48, 80, 60
KD = np.array([[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]])
KC = np.array([[62.5, 0, 39.5], [0, 62.5, 29.5], [0, 0, 1]])
BOX = (-0.25, 0.15, -0.2, 0.15)  # X and Y span of the box at z = 1 m in the depth camera's frame
#: link <- optical frame: optical z forward is the link's x, optical x right is the link's -y (REP 103)
OPTICAL = np.array([[0.0, 0, 1], [-1, 0, 0], [0, -1, 0]])


def _pose(rvec_optical, t_link, optical=OPTICAL):
    """A frame's pose in its parent, by default an optical frame's in the link: (4 x 4 child-to-parent,
    quaternion x y z w)."""
    import cv2

    r = optical @ cv2.Rodrigues(np.asarray(rvec_optical, np.float64))[0]
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = r, t_link
    rvec = cv2.Rodrigues(r)[0].ravel()
    angle = np.linalg.norm(rvec)
    q = np.r_[rvec / angle * np.sin(angle / 2), np.cos(angle / 2)] if angle else np.r_[0.0, 0, 0, 1]
    return m, q


DEPTH_POSE = _pose([0, 0, 0], [0, 0, 0])
# the colour camera as realsense-ros gives it: link -> colour frame (moved) -> colour optical frame (turned)
COLOUR_FRAME = _pose([0, 0, 0], [0.0, -0.05, 0.01], optical=np.eye(3))
COLOUR_OPTICAL = _pose([0, 0.08, 0], [0, 0, 0])
COLOUR_POSE = (COLOUR_FRAME[0] @ COLOUR_OPTICAL[0],)


def _depth_image():
    u, v = np.meshgrid(np.arange(DW), np.arange(DH))
    x, y = (u - KD[0, 2]) / KD[0, 0], (v - KD[1, 2]) / KD[1, 1]
    box = (x >= BOX[0]) & (x <= BOX[1]) & (y >= BOX[2]) & (y <= BOX[3])
    return np.where(box, 1000, 2000).astype(np.uint16)


def _seen_by_colour():
    """The depth (mm) along each colour pixel's ray: the box, the wall where the depth camera sees it too,
    0 where it does not (behind the box from the depth camera, or beyond its view: nothing to register)."""
    m = np.linalg.inv(DEPTH_POSE[0]) @ COLOUR_POSE[0]  # colour frame -> depth frame
    r, t = m[:3, :3], m[:3, 3]
    u, v = np.meshgrid(np.arange(CW), np.arange(CH))
    rays = np.stack([(u - KC[0, 2]) / KC[0, 0], (v - KC[1, 2]) / KC[1, 1], np.ones(u.shape)], -1) @ r.T
    out = np.zeros((CH, CW))
    for z in (2.0, 1.0):  # the box last: it is in front
        s = (z - t[2]) / rays[..., 2]
        p = t + s[..., None] * rays
        x, y = p[..., 0] / p[..., 2], p[..., 1] / p[..., 2]  # where the depth camera sees the point
        in_box = (x >= BOX[0]) & (x <= BOX[1]) & (y >= BOX[2]) & (y <= BOX[3])
        ud, vd = KD[0, 0] * x + KD[0, 2], KD[1, 1] * y + KD[1, 2]
        outside = (ud < -0.5) | (ud > DW - 0.5) | (vd < -0.5) | (vd > DH - 0.5)  # beyond the depth camera's view
        out = np.where(in_box, s * 1000, out) if z == 1.0 else np.where(in_box | outside, 0, s * 1000)
    return out


def _bag(path, with_tf=True, kd=KD, kc=KC, colour_info_size=(CW, CH), png_colour=False,
         colour_model=("plumb_bob", np.zeros(5))):
    import cv2
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    t = ts.types
    stamp = t["builtin_interfaces/msg/Time"](sec=T0 // 10**9, nanosec=0)

    def header(frame):
        return t["std_msgs/msg/Header"](stamp=stamp, frame_id=frame)

    def info(k, w, h, frame, model=("plumb_bob", np.zeros(5))):
        roi = t["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        return t["sensor_msgs/msg/CameraInfo"](
            header=header(frame), height=h, width=w, distortion_model=model[0], d=np.asarray(model[1], float),
            k=k.ravel(),
            r=np.eye(3).ravel(), p=np.c_[k, np.zeros(3)].ravel(), binning_x=0, binning_y=0, roi=roi)

    def tf(child, pose, parent="cam_link"):
        m, q = pose
        tr = t["geometry_msgs/msg/Transform"](
            translation=t["geometry_msgs/msg/Vector3"](x=m[0, 3], y=m[1, 3], z=m[2, 3]),
            rotation=t["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3]))
        return t["geometry_msgs/msg/TransformStamped"](header=header(parent), child_frame_id=child, transform=tr)

    def image(arr, enc, frame):
        data = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
        return t["sensor_msgs/msg/Image"](header=header(frame), height=arr.shape[0], width=arr.shape[1], encoding=enc,
                                          is_bigendian=0, step=data.size // arr.shape[0], data=data)

    colour = np.zeros((CH, CW, 3), np.uint8)
    colour[_seen_by_colour() < 1500] = (230, 200, 30)
    msgs = [("/cam/depth/image_rect_raw", image(_depth_image(), "16UC1", "cam_depth_optical_frame")),
            ("/cam/color/image_raw", image(colour, "rgb8", "cam_color_optical_frame")) if not png_colour else
            ("/cam/color/image_raw/compressed", t["sensor_msgs/msg/CompressedImage"](
                header=header("cam_color_optical_frame"), format="rgb8; png compressed bgr8",
                data=np.frombuffer(cv2.imencode(".png", colour[..., ::-1])[1].tobytes(), np.uint8))),
            ("/cam/depth/camera_info", info(kd, DW, DH, "cam_depth_optical_frame")),
            ("/cam/color/camera_info", info(kc, *colour_info_size, "cam_color_optical_frame", colour_model))]
    if with_tf:
        msgs.append(("/tf_static", t["tf2_msgs/msg/TFMessage"](transforms=[
            tf("cam_depth_optical_frame", DEPTH_POSE), tf("cam_color_frame", COLOUR_FRAME),
            tf("cam_color_optical_frame", COLOUR_OPTICAL, parent="cam_color_frame")])))
    with rosbag2.Writer(path, version=8) as w:
        for topic, msg in msgs:
            con = w.add_connection(topic, msg.__msgtype__, typestore=ts)
            w.write(con, T0, ts.serialize_cdr(msg, msg.__msgtype__))


def test_registered_depth_is_what_the_colour_camera_sees(tmp_path, capsys):
    import cv2

    _bag(tmp_path / "b")
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "plain")]) == 0
    assert "--align registers it with the bag's camera_info and /tf_static" in capsys.readouterr().err
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align"]) == 0
    said = capsys.readouterr()
    assert "not registered" not in said.err and f"16UC1 {CW}x{CH}" in said.out
    info = json.loads((tmp_path / "o" / "bag.json").read_text())
    assert info["registered"] and info["depth_size"] == [CW, CH]
    got = cv2.imread(str(tmp_path / "o" / "depth" / "000000.png"), cv2.IMREAD_UNCHANGED).astype(float)
    want = _seen_by_colour()
    # away from every edge of the truth (a step, or where the wall is hidden), within 1 % of the distance
    step = np.zeros(want.shape, bool)
    step[:, 1:] |= np.abs(np.diff(want, axis=1)) > 100
    step[1:, :] |= np.abs(np.diff(want, axis=0)) > 100
    edges = cv2.dilate(step.astype(np.uint8), np.ones((5, 5)))
    inner = (edges == 0) & (want > 0)
    assert inner.sum() > 0.6 * want.size
    ok = np.abs(got - want) <= 0.01 * want
    assert ok[inner].mean() > 0.98, ok[inner].mean()
    # the box's edges where the colour camera sees them: each row of the box within a pixel
    for row in (22, 30, 36):
        box_got = np.flatnonzero(np.abs(got[row] - 1000) < 60)
        box_want = np.flatnonzero((want[row] > 0) & (want[row] < 1500))
        assert abs(box_got.min() - box_want.min()) <= 1 and abs(box_got.max() - box_want.max()) <= 1


def test_align_without_the_calibration_is_one_line(tmp_path, capsys):
    _bag(tmp_path / "b", with_tf=False)
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--align needs the transform from cam_depth_optical_frame to cam_color_optical_frame" \
        in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_align_of_a_realsense_sdk_recording_names_the_sdk(tmp_path, capsys):
    """The RealSense Viewer's bags keep their calibration in the SDK's own topics: refused, naming rs.align."""
    from test_bag_export import _realsense_bag

    _realsense_bag(tmp_path / "rec.bag")
    assert main(["bag", str(tmp_path / "rec.bag"), str(tmp_path / "o"), "--align"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a RealSense SDK recording keeps its calibration" in err[0] and "rs.align" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.bag"]


def _aligner(kd, dsize, kc, csize, colour_origin, dist=(), roll=0.0):
    """An Aligner from /tf_static as a bag gives it: the colour optical frame a child of the depth optical
    frame, at ``colour_origin`` (metres, in the depth camera's axes), turned by ``roll`` radians about its
    optical axis (z)."""
    from types import SimpleNamespace as NS

    from igde_stream.bag_align import Aligner, Camera, _matrix, depth_to_colour

    tr = NS(translation=NS(x=colour_origin[0], y=colour_origin[1], z=colour_origin[2]),
            rotation=NS(x=0.0, y=0.0, z=float(np.sin(roll / 2)), w=float(np.cos(roll / 2))))
    rt = depth_to_colour({"colour": ("depth", _matrix(tr))}, "depth", "colour")
    return Aligner(Camera(kd, np.zeros(5), dsize, "depth"), Camera(kc, np.asarray(dist, float), csize, "colour"), rt,
                   0.001)


def test_registration_worked_by_hand():
    """Both cameras f = 100 px, the colour 5 cm to the depth camera's right (+x): a point at z moves
    100 * 0.05 / z px left, 5 px for the wall at 1 m, 10 px for the box at 0.5 m (depth columns 20..25
    -> colour 10..15, over the wall of depth columns 15..19: the nearest kept). Colour columns 16..20 look
    at the wall the box hides from the depth camera (depth columns 21..25): holes; 35..39 look beyond the
    depth camera's view: holes. z is the same in both cameras (no turn), so the values are exact."""
    k = np.array([[100.0, 0, 19.5], [0, 100.0, 3.5], [0, 0, 1]])
    d = np.full((8, 40), 1000, np.uint16)
    d[:, 20:26] = 500
    want = np.zeros(40, np.uint16)
    want[0:10], want[10:16], want[21:35] = 1000, 500, 1000
    out = _aligner(k, (40, 8), k, (40, 8), (0.05, 0.0, 0.0))(d)
    assert out.dtype == np.uint16 and out.shape == (8, 40)
    assert (out == want).all(), out[0]
    # the colour camera at twice the resolution: each depth pixel covers exactly two colour pixels
    k2 = np.array([[200.0, 0, 39.5], [0, 200.0, 7.5], [0, 0, 1]])
    out2 = _aligner(k, (40, 8), k2, (80, 16), (0.05, 0.0, 0.0))(d)
    assert (out2 == np.repeat(want, 2)[None]).all(), out2[0]
    # float metres: the same, NaN for the holes
    outf = _aligner(k, (40, 8), k, (40, 8), (0.05, 0.0, 0.0))(d.astype(np.float32) / 1000)
    assert np.array_equal(np.nan_to_num(outf[0] * 1000, nan=0).round(), want)


@pytest.mark.parametrize("dist", [(-0.055, 0.065, 0.0003, -0.0005, -0.02), (0.1, -0.2, 0.0, 0.0, 0.05)])
def test_flat_wall_through_a_distorting_colour_lens_has_no_holes(dist):
    """A wall at 1.5 m, the colour camera's view inside the depth camera's and its lens distorting (radial
    and tangential, a D455's order of size, and a stronger one): every colour pixel sees the wall, at 1.5 m
    (no turn). The box of two opposite corners of each depth pixel's square, which distortion makes a
    quadrilateral, left colour pixels between neighbouring squares uncovered (14 / 15 holes here)."""
    kd = np.array([[40.0, 0, 31.5], [0, 40.0, 23.5], [0, 0, 1]])  # 77 degrees wide
    kc = np.array([[70.0, 0, 39.5], [0, 70.0, 29.5], [0, 0, 1]])  # 59 degrees wide
    out = _aligner(kd, (64, 48), kc, (80, 60), (0.02, 0.0, 0.0), dist)(np.full((48, 64), 1500, np.uint16))
    assert (out == 1500).all(), np.argwhere(out != 1500)[:5]


@pytest.mark.parametrize("which", ["depth", "color"])
def test_align_with_an_uncalibrated_camera_info_is_one_line(tmp_path, capsys, which):
    """A camera_info whose K is all 0 (ROS's mark of an uncalibrated camera): the depth camera's was a
    LinAlgError traceback, the colour camera's a 'registered' depth of one pixel; now one line, nothing left."""
    zero = np.zeros((3, 3))
    _bag(tmp_path / "b", **({"kd": zero} if which == "depth" else {"kc": zero}))
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"/cam/{which}/camera_info" in err[0] and "no calibration" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


@pytest.mark.parametrize("png", [False, True])
def test_align_with_a_colour_camera_info_of_another_size_is_one_line(tmp_path, capsys, png):
    """The colour camera_info for 160x120 beside 80x60 colour images: the registered depth came out at
    160x120 beside colour of 80x60 (the run then stretching one to the other); now one line, for a
    compressed colour topic too (its size known decoded). With the right size, the compressed topic's
    registered depth is the raw one's."""
    topic = "/cam/color/image_raw" + ("/compressed" if png else "")
    _bag(tmp_path / "b", colour_info_size=(2 * CW, 2 * CH), png_colour=png)
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{topic} is {CW}x{CH} and its camera_info says {2 * CW}x{2 * CH}" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
    if png:
        import cv2

        _bag(tmp_path / "raw")
        _bag(tmp_path / "png", png_colour=True)
        for name in ("raw", "png"):
            assert main(["bag", str(tmp_path / name), str(tmp_path / f"o_{name}"), "--align", "-q"]) == 0
        raw, got = (cv2.imread(str(tmp_path / f"o_{n}" / "depth" / "000000.png"), cv2.IMREAD_UNCHANGED)
                    for n in ("raw", "png"))
        assert got.shape == (CH, CW) and np.array_equal(got, raw)


@pytest.mark.parametrize("model, d, refused", [
    ("equidistant", (0.1, 0.02, 0.0, 0.0), True),  # a fisheye lens: OpenCV would read these as k1 k2 p1 p2
    ("equidistant", (0.0, 0.0, 0.0, 0.0), False),  # no distortion, whatever the model
    ("rational_polynomial", (0.0,) * 8, False),  # the Azure Kinect ROS driver's model
])
def test_align_takes_only_distortion_models_opencv_projects(tmp_path, capsys, model, d, refused):
    """ROS's plumb_bob and rational_polynomial are OpenCV's k1 k2 p1 p2 k3 ... order; an equidistant
    (fisheye) camera_info's four coefficients were given to cv2.projectPoints as k1 k2 p1 p2, registering
    the depth to the wrong pixels without a word; now refused in one line naming the model."""
    _bag(tmp_path / "b", colour_model=(model, np.asarray(d)))
    code = main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "--align", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    if refused:
        assert code == 2 and len(err) == 1 and "distortion model equidistant" in err[0] \
            and "/cam/color/camera_info" in err[0], err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
    else:
        assert code == 0, err


def test_points_on_or_behind_the_colour_cameras_plane_are_not_seen():
    """The colour camera 1 m in front of the depth camera: depth columns 10..19, a wall at 1 m, lie on its
    plane (z 0: no division by 0, a hole); columns 0..9, at 0.5 m, behind it (a projection through a
    negative z lands mirrored on columns 30..39, and as the nearest would win there); columns 20..39, at
    2 m, are 1 m before it, magnified twice (colour column 19.5 + 2 (u - 19.5)): colour columns 21 on."""
    k = np.array([[100.0, 0, 19.5], [0, 100.0, 3.5], [0, 0, 1]])
    d = np.full((8, 40), 2000, np.uint16)
    d[:, :10], d[:, 10:20] = 500, 1000
    out = _aligner(k, (40, 8), k, (40, 8), (0.0, 0.0, 1.0))(d)
    assert (out[:, :19] == 0).all() and (out[:, 21:] == 1000).all(), out[0]


def test_flat_wall_seen_by_a_colour_camera_turned_about_its_axis_has_no_holes():
    """The colour camera turned 0.1 rad about its optical axis (and 2 cm aside), a wall at 1.5 m filling
    its view: every colour pixel sees the wall, at 1.5 m (the turn keeps z). The box of two opposite
    corners of each turned square left 476 of the 4800 colour pixels uncovered."""
    kd = np.array([[40.0, 0, 31.5], [0, 40.0, 23.5], [0, 0, 1]])
    kc = np.array([[70.0, 0, 39.5], [0, 70.0, 29.5], [0, 0, 1]])
    out = _aligner(kd, (64, 48), kc, (80, 60), (0.02, 0.0, 0.0), roll=0.1)(np.full((48, 64), 1500, np.uint16))
    assert (out == 1500).all(), np.argwhere(out != 1500)[:5]
