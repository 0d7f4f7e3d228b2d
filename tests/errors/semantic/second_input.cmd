check tests/errors/semantic/second_input.cnn
