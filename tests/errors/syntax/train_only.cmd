check tests/errors/syntax/train_only.cnn
