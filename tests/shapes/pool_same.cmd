summary tests/shapes/pool_same.cnn --format json --target avx2
