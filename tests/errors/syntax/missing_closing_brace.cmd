check tests/errors/syntax/missing_closing_brace.cnn
