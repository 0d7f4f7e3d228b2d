summary tests/shapes/same_nonsquare_input.cnn --format json --target avx2
