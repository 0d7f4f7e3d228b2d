check tests/errors/yaml/number_forms.yaml
