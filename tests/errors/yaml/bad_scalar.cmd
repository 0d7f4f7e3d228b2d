check tests/errors/yaml/bad_scalar.yaml
