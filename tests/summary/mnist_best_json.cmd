summary models/mnist_best.cnn --format json --target avx2
