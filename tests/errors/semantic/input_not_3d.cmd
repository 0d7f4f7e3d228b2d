check tests/errors/semantic/input_not_3d.cnn
