check tests/errors/syntax/only_comments.cnn
