check tests/errors/semantic/split_bare.cnn
