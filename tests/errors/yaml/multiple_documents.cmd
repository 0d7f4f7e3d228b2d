check tests/errors/yaml/multiple_documents.yaml
