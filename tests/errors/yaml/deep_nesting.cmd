check tests/errors/yaml/deep_nesting.yaml
