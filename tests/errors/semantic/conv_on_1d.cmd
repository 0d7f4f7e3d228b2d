check tests/errors/semantic/conv_on_1d.cnn
