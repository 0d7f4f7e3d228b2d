check tests/errors/semantic/train_first.cnn
