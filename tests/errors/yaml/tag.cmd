check tests/errors/yaml/tag.yaml
