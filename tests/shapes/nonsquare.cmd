summary tests/shapes/nonsquare.cnn --format json
