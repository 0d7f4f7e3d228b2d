check tests/errors/syntax/unclosed_paren.cnn
