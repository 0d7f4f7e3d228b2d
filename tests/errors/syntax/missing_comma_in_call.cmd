check tests/errors/syntax/missing_comma_in_call.cnn
