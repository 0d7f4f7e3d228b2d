check tests/errors/syntax/unterminated_comment.cnn
