check tests/errors/yaml/unknown_layer.yaml
