check tests/errors/yaml/alias_bomb.yaml
