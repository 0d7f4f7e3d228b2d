chek models/mnist_cnn.cnn
