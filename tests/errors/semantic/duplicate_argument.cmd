check tests/errors/semantic/duplicate_argument.cnn
