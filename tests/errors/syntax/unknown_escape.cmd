check tests/errors/syntax/unknown_escape.cnn
