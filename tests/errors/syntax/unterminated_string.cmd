check tests/errors/syntax/unterminated_string.cnn
