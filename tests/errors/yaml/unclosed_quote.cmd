check tests/errors/yaml/unclosed_quote.yaml
