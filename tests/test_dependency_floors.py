"""The lowest onnxruntime pyproject.toml admits reads the ONNX files the package ships."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# the newest ONNX IR version each onnxruntime release reads (its compatibility table; 1.17.0 refuses the
# shipped weights with "Unsupported model IR version: 10, max supported IR version: 9", 1.18.0 runs them)
ORT_MAX_IR = {(1, 17): 9, (1, 18): 10}


def ir_version(path: Path) -> int:
    """ModelProto field 1 (``ir_version``, a varint), read from the protobuf's top-level fields."""
    data, i = path.read_bytes(), 0

    def varint() -> int:
        nonlocal i
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
            if field == 1:
                return value
        elif wire == 1:
            i += 8
        elif wire == 2:
            length = varint()  # (not "i += varint()": that adds to i as it was before the varint)
            i += length
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"{path}: wire type {wire} at byte {i}")
    raise ValueError(f"{path}: no ir_version")


def test_ir_version_reader_on_a_hand_made_model(tmp_path):
    # field 7 (graph, length-delimited, 3 bytes) before field 1 = 300 (varint 0xAC 0x02)
    blob = tmp_path / "probe.onnx"
    blob.write_bytes(bytes([7 << 3 | 2, 3, 1, 2, 3, 1 << 3 | 0, 0xAC, 0x02]))
    assert ir_version(blob) == 300


def test_onnxruntime_floor_reads_the_shipped_weights():
    floor = re.search(r'"onnxruntime>=(\d+)\.(\d+)', (ROOT / "pyproject.toml").read_text())
    assert floor, "pyproject.toml names no onnxruntime floor"
    release = (int(floor[1]), int(floor[2]))
    known = [r for r in ORT_MAX_IR if r <= release]
    assert known, f"onnxruntime>={release[0]}.{release[1]} is older than every release in ORT_MAX_IR"
    reads = ORT_MAX_IR[max(known)]
    shipped = sorted((ROOT / "igde_stream" / "weights").glob("*.onnx"))
    assert shipped
    for path in shipped:
        ir = ir_version(path)
        assert ir <= reads, (f"{path.name} is ONNX IR version {ir}; onnxruntime {release[0]}.{release[1]} reads "
                             f"up to {reads}: raise the onnxruntime floor (and add its release to ORT_MAX_IR)")
