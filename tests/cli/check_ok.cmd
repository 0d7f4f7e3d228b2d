check models/mnist_cnn.cnn models/lenet5.cnn models/mlp.cnn
