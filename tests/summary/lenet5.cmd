summary models/lenet5.cnn
