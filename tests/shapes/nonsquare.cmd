summary tests/shapes/nonsquare.cnn --format json --target avx2
