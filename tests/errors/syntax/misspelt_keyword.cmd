check tests/errors/syntax/misspelt_keyword.cnn
