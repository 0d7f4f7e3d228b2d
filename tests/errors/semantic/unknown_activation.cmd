check tests/errors/semantic/unknown_activation.cnn
