"""A checkpoint of random weights for a model, from `cnnc summary --format json`: what the
round-trip tests export when a model (tests/models/*.cnn, on small made-up inputs) has no
data to train on.

    cnnc summary MODEL --format json | python3 tests/onnx/random_ckpt.py OUT.safetensors SEED

The tensors are those of contract sections 5 and 6: `<layer>.kernel` ([KH, KW, CIN, COUT] for
conv2d, [IN, OUT] for dense) and `<layer>.bias`, batchnorm's `.gamma`, `.beta`, `.moving_mean`
and `.moving_variance` ([C]), uniform in [-1, 1) (a variance in [0.5, 1.5)).
"""
import json
import random
import struct
import sys


def main():
    out, seed = sys.argv[1], int(sys.argv[2])
    model = json.load(sys.stdin)
    rng = random.Random(seed)
    tensors = []
    for layer in model["layers"]:
        cfg = layer["config"]
        if layer["type"] == "conv2d":
            kh, kw = cfg["kernel"]
            tensors.append((layer["name"] + ".kernel", [kh, kw, layer["input_shape"][-1], cfg["filters"]]))
            if cfg["use_bias"]:
                tensors.append((layer["name"] + ".bias", [cfg["filters"]]))
        elif layer["type"] == "dense":
            fan_in = 1
            for d in layer["input_shape"]:
                fan_in *= d
            tensors.append((layer["name"] + ".kernel", [fan_in, cfg["units"]]))
            if cfg["use_bias"]:
                tensors.append((layer["name"] + ".bias", [cfg["units"]]))
        elif layer["type"] == "batchnorm":
            c = [layer["input_shape"][-1]]
            if cfg["scale"]:
                tensors.append((layer["name"] + ".gamma", c))
            if cfg["center"]:
                tensors.append((layer["name"] + ".beta", c))
            tensors.append((layer["name"] + ".moving_mean", c))
            tensors.append((layer["name"] + ".moving_variance", c))
    header = {"__metadata__": {"format_version": "1", "model": model["model"]}}
    data = b""
    for name, shape in tensors:
        count = 1
        for d in shape:
            count *= d
        # A variance is positive: uniform in [0.5, 1.5).
        low = 0.5 if name.endswith(".moving_variance") else -1
        values = [rng.uniform(low, low + 2 if low < 0 else low + 1) for _ in range(count)]
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + 4 * count]}
        data += struct.pack(f"<{count}f", *values)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


main()
