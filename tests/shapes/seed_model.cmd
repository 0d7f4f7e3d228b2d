summary tests/shapes/seed_model.cnn --format json --target avx2
