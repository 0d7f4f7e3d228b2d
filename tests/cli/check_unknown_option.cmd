check --strict models/mnist_cnn.cnn
