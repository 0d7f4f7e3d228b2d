summary models/mlp.cnn
