summary tests/shapes/same_odd_input.cnn --format json --target avx2
