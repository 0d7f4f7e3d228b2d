check tests/errors/syntax/stray_character.cnn
