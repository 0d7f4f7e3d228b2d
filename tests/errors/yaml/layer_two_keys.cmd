check tests/errors/yaml/layer_two_keys.yaml
