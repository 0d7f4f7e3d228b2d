summary models/mlp.cnn --target avx2
