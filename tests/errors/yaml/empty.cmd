check tests/errors/yaml/empty.yaml
