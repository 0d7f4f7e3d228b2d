check tests/errors/semantic/sgd_momentum.cnn
