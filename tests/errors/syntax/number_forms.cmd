check tests/errors/syntax/number_forms.cnn
