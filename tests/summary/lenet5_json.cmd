summary models/lenet5.cnn --format json --target avx2
