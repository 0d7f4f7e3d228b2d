check tests/errors/semantic/softmax_not_last.cnn
