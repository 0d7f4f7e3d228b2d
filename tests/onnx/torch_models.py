"""The import oracle of tests/suite_85_onnx.sh: networks written in PyTorch with random
weights, exported with torch.onnx.export, and their probabilities on test images.

    /usr/bin/python3 tests/onnx/torch_models.py MODEL IMAGES.u8 N OUT_DIR

MODEL is mnist_cnn (the seed model) or lenet5 (models/lenet5.cnn, as PyTorch writes it:
explicit symmetric padding, AvgPool2d, Tanh). IMAGES.u8 holds N 28x28 images, one byte a
pixel (tests/unit/infer_ref.c's dump writes it). Writes OUT_DIR/MODEL.onnx (opset 13, NCHW
input with a dynamic batch) and OUT_DIR/MODEL.torch.txt: one line per image, the class and
the ten probabilities with 9 digits, as infer_ref prints them. Debian's python3-torch is
installed for /usr/bin/python3 (mk/deps.sh); exits 77 when torch is missing.

The residual network of issue 20 waits for cnnc's graph layers (contract section 6: add,
batchnorm, globalavgpool2d, from=); its PyTorch twin goes here when they exist.
"""
import sys

try:
    import torch
    from torch import nn
except ImportError as e:  # the suite reports this and fails
    print(f"torch_models: cannot import torch ({e}); install python3-torch", file=sys.stderr)
    sys.exit(77)


def mnist_cnn():
    # The seed model: conv 32 3x3 relu, pool, conv 64 3x3 relu, pool, flatten (C, H, W in
    # PyTorch), dense 64 relu, dense 10 softmax.
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(), nn.Linear(64, 10), nn.Softmax(dim=1))


def lenet5():
    # padding=2 on a 5x5 kernel over 28x28 is Keras same; the importer must see that.
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, 10), nn.Softmax(dim=1))


MODELS = {"mnist_cnn": mnist_cnn, "lenet5": lenet5}


def randomize(model):
    # PyTorch's default initialisation leaves the biases small; wider random values test the
    # weights' layout (a kernel read transposed, a bias dropped) far harder.
    g = torch.Generator().manual_seed(20)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * (1.5 / max(1, p.shape[-1]) ** 0.5))


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in MODELS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    name, images, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    torch.manual_seed(20)
    model = MODELS[name]()
    randomize(model)
    model.eval()
    raw = open(images, "rb").read()
    if len(raw) != n * 784:
        sys.exit(f"torch_models: {images} has {len(raw)} bytes, not {n} images of 28x28")
    # Pixels scaled as cnnc does: a float32 division by 255.
    x = torch.tensor(list(raw), dtype=torch.float32).reshape(n, 1, 28, 28) / torch.tensor(255.0)
    with torch.no_grad():
        probs = model(x)
    torch.onnx.export(model, x[:1], f"{out}/{name}.onnx", opset_version=13, input_names=["input"],
                      output_names=["probabilities"],
                      dynamic_axes={"input": {0: "N"}, "probabilities": {0: "N"}})
    with open(f"{out}/{name}.torch.txt", "w") as f:
        for row in probs.tolist():
            cls = max(range(len(row)), key=lambda i: row[i])
            f.write(f"{cls} " + " ".join(f"{v:.9g}" for v in row) + "\n")


main()
