check tests/errors/semantic/missing_input.cnn
