summary models/mnist_cnn.cnn models/mlp.cnn
