check tests/errors/semantic/zero_sizes.cnn
