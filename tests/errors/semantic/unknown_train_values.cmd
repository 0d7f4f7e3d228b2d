check tests/errors/semantic/unknown_train_values.cnn
