check tests/cli/no-such-model.cnn
