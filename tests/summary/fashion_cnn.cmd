summary models/fashion_cnn.cnn --target avx2
