"""The import oracle of tests/suite_85_onnx.sh: networks written in PyTorch with random
weights, exported with torch.onnx.export, and their probabilities on test images.

    /usr/bin/python3 tests/onnx/torch_models.py MODEL IMAGES.u8 N OUT_DIR

MODEL is mnist_cnn (the seed model), lenet5 (models/lenet5.cnn, as PyTorch writes it:
explicit symmetric padding, AvgPool2d, Tanh), resnet_mnist (models/resnet_mnist.cnn:
conv-bn-relu blocks with a skip add, global average pooling) or inception (branches joined by
torch.cat, batch normalisation on the joined channels). IMAGES.u8 holds N 28x28 images, one byte a
pixel (tests/unit/infer_ref.c's dump writes it). Writes OUT_DIR/MODEL.onnx (opset 13, NCHW
input with a dynamic batch) and OUT_DIR/MODEL.torch.txt: one line per image, the class and
the ten probabilities with 9 digits, as infer_ref prints them. Debian's python3-torch is
installed for /usr/bin/python3 (mk/deps.sh); exits 77 when torch is missing.

Batch normalisation is exported in inference form (eval mode, TrainingMode.PRESERVE, so that
torch does not fold it into the convolutions), with PyTorch's epsilon 1e-5 and momentum 0.1
(ONNX's 0.9); its moving statistics are those of the images, gathered in training mode first.
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


class ResNet(nn.Module):
    # models/resnet_mnist.cnn: a stem and one residual block whose add reads the stem's output.
    def __init__(self):
        super().__init__()
        conv = lambda cin: nn.Conv2d(cin, 32, 3, padding=1, bias=False)
        self.conv1, self.bn1 = conv(1), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = conv(32), nn.BatchNorm2d(32)
        self.conv3, self.bn3 = conv(32), nn.BatchNorm2d(32)
        self.pool, self.gap, self.fc = nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Linear(32, 10)

    def forward(self, x):
        stem = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(stem)))
        y = torch.relu(self.bn3(self.conv3(y)) + stem)
        y = torch.flatten(self.gap(self.pool(y)), 1)
        return torch.softmax(self.fc(y), dim=1)


class Inception(nn.Module):
    # Four branches from one stem (1x1; 1x1 then 3x3; 3x3 max-pool then 1x1; and the stem
    # itself), joined by one torch.cat of four tensors, then batch normalisation.
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b3a, self.b3b = nn.Conv2d(8, 4, 1), nn.Conv2d(4, 6, 3, padding=1)
        self.bp_pool, self.bp = nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(8, 4, 1)
        self.bn, self.pool, self.fc = nn.BatchNorm2d(22), nn.MaxPool2d(2), nn.Linear(22 * 14 * 14, 10)

    def forward(self, x):
        s = torch.relu(self.stem(x))
        a = torch.relu(self.b1(s))
        b = torch.tanh(self.b3b(torch.relu(self.b3a(s))))
        c = torch.relu(self.bp(self.bp_pool(s)))
        y = torch.relu(self.bn(torch.cat([a, b, c, s], 1)))
        return torch.softmax(self.fc(torch.flatten(self.pool(y), 1)), dim=1)


MODELS = {"mnist_cnn": mnist_cnn, "lenet5": lenet5, "resnet_mnist": ResNet, "inception": Inception}


def randomize(model):
    # PyTorch's default initialisation leaves the biases small; wider random values test the
    # weights' layout (a kernel read transposed, a bias dropped) far harder.
    g = torch.Generator().manual_seed(20)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 4:  # a convolution's kernel: scaled by its fan-in, so that depth keeps a scale
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * (3.0 / fan_in) ** 0.5)
            else:
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * (1.5 / max(1, p.shape[-1]) ** 0.5))
            if name.endswith(".weight") and p.dim() == 1:  # batchnorm's gamma: around 1
                p.add_(1.0)


def calibrate(model, x):
    # The moving statistics of the batch normalisation layers: the images' own, from forward
    # passes in training mode (momentum 0.1 each), so that normalised values are of unit scale.
    if not any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        return
    model.train()
    with torch.no_grad():
        for _ in range(40):
            model(x)


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
    calibrate(model, x)
    model.eval()
    with torch.no_grad():
        probs = model(x)
    torch.onnx.export(model, x[:1], f"{out}/{name}.onnx", opset_version=13, input_names=["input"],
                      output_names=["probabilities"], training=torch.onnx.TrainingMode.PRESERVE,
                      dynamic_axes={"input": {0: "N"}, "probabilities": {0: "N"}})
    with open(f"{out}/{name}.torch.txt", "w") as f:
        for row in probs.tolist():
            cls = max(range(len(row)), key=lambda i: row[i])
            f.write(f"{cls} " + " ".join(f"{v:.9g}" for v in row) + "\n")


main()
