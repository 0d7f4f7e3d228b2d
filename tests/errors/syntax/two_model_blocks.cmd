check tests/errors/syntax/two_model_blocks.cnn
