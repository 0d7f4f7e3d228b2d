check tests/errors/yaml/syntax_error.yaml
