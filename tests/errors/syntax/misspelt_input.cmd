check tests/errors/syntax/misspelt_input.cnn
