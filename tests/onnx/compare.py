"""Compares two files of per-image outputs, one line per image: the class, then the outputs
(tests/unit/infer_ref.c's dump, tests/onnx/ort_run.js, tests/onnx/torch_models.py write them).

    python3 tests/onnx/compare.py EXPECTED ACTUAL TOLERANCE

Prints the largest absolute difference and where it is; exits 1 when it exceeds TOLERANCE,
when the files differ in their number of images or outputs, or when no image was compared.
"""
import sys


def rows(path):
    out = []
    for line in open(path):
        f = line.split()
        if f:
            out.append([float(v) for v in f[1:]])
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    a, b, tol = rows(sys.argv[1]), rows(sys.argv[2]), float(sys.argv[3])
    if not a or len(a) != len(b):
        sys.exit(f"compare: {len(a)} images in {sys.argv[1]}, {len(b)} in {sys.argv[2]}")
    worst, where = 0.0, (0, 0)
    for i, (ra, rb) in enumerate(zip(a, b)):
        if len(ra) != len(rb) or not ra:
            sys.exit(f"compare: image {i} has {len(ra)} outputs against {len(rb)}")
        for j, (x, y) in enumerate(zip(ra, rb)):
            d = abs(x - y)
            if not d <= worst:  # NaN counts as the worst
                worst, where = d, (i, j)
    print(f"{len(a)} images, max |difference| {worst:.3g} (image {where[0]}, output {where[1]})")
    if not worst <= tol:
        i, j = where
        print(f"image {i}: expected {a[i][j]!r}, got {b[i][j]!r}; tolerance {tol}")
        sys.exit(1)


main()
