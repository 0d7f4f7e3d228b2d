check tests/errors/semantic/softmax_layer_not_last.cnn
