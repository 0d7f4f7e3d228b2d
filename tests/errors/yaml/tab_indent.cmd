check tests/errors/yaml/tab_indent.yaml
