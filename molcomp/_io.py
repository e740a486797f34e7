"""Save and load models: a JSON header (how to rebuild the skeleton) + equinox leaves."""
def save(path, model): raise NotImplementedError
def load(path): raise NotImplementedError
