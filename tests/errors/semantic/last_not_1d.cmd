check tests/errors/semantic/last_not_1d.cnn
