check tests/errors/yaml/comments_only.yaml
