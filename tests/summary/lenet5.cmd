summary models/lenet5.cnn --target avx2
