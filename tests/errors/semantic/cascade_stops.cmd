check tests/errors/semantic/cascade_stops.cnn
