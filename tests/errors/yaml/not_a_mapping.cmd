check tests/errors/yaml/not_a_mapping.yaml
