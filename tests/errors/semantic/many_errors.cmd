check tests/errors/semantic/many_errors.cnn
