check tests/errors/semantic/unknown_padding.cnn
