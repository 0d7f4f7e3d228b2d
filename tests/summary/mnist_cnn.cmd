summary models/mnist_cnn.cnn --target avx2
