check tests/errors/semantic/input_zero.cnn
