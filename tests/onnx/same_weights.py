"""Whether two safetensors checkpoints hold the same parameters bit for bit.

    python3 tests/onnx/same_weights.py A.safetensors B.safetensors

Compares every tensor that is the model's (not the optimizer's state, `optimizer.*`, nor the
best epoch's weights early stopping keeps to restore, `best.*`): the same names, dtypes, shapes
and bytes. Exits 1 naming the first difference.
"""
import json
import struct
import sys


def tensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or name.startswith(("optimizer.", "best.")):
            continue
        lo, hi = t["data_offsets"]
        out[name] = (t["dtype"], t["shape"], data[8 + n + lo:8 + n + hi])
    return out


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
if sorted(a) != sorted(b):
    sys.exit(f"different tensors: {sorted(a)} against {sorted(b)}")
for name in a:
    if a[name][:2] != b[name][:2]:
        sys.exit(f"{name}: {a[name][:2]} against {b[name][:2]}")
    if a[name][2] != b[name][2]:
        sys.exit(f"{name}: the values differ")
print(f"{len(a)} tensors, bit for bit")
