check tests/errors/yaml/bad_input.yaml
