summary tests/shapes/pool_stride.cnn --format json --target avx2
