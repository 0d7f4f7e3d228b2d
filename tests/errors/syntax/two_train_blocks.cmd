check tests/errors/syntax/two_train_blocks.cnn
