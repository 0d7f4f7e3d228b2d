summary models/mnist_cnn.yaml --format yaml
