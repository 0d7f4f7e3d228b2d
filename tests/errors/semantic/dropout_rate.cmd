check tests/errors/semantic/dropout_rate.cnn
