check tests/errors/syntax/missing_semicolon.cnn
