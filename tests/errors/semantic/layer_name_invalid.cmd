check tests/errors/semantic/layer_name_invalid.cnn
