check tests/errors/yaml/unknown_top_key.yaml
