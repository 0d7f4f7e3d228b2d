summary models/mnist_cnn.cnn --format xml
