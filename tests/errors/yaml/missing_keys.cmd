check tests/errors/yaml/missing_keys.yaml
