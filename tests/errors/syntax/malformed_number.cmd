check tests/errors/syntax/malformed_number.cnn
