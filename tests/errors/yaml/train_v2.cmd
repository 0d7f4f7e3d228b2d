check tests/errors/yaml/train_v2.yaml
