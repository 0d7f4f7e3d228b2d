check tests/errors/semantic/learning_rate.cnn
