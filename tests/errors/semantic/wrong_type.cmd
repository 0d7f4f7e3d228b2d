check tests/errors/semantic/wrong_type.cnn
