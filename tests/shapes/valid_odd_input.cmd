summary tests/shapes/valid_odd_input.cnn --format json --target avx2
