summary models/mnist_cnn.yaml --format yaml --target avx2
