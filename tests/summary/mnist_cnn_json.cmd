summary models/mnist_cnn.cnn --format json --target avx2
