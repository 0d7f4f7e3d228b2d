check tests/errors/syntax/missing_model_close.cnn
