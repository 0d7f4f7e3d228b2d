check tests/errors/syntax/tabs.cnn
