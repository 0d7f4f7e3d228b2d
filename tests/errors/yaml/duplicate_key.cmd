check tests/errors/yaml/duplicate_key.yaml
