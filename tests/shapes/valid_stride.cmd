summary tests/shapes/valid_stride.cnn --format json --target avx2
