summary models/fashion_cnn.cnn
