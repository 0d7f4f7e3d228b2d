check tests/errors/semantic/unknown_argument.cnn
