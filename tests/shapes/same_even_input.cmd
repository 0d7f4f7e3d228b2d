summary tests/shapes/same_even_input.cnn --format json --target avx2
