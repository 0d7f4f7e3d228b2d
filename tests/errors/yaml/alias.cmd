check tests/errors/yaml/alias.yaml
