"""Key paths (``parameters.amp1.min``, ``confidence.maps[0].x``) and the
positions recorded for them by the readers."""


def _parent(path):
    """``'a.b[2]'`` -> ``'a.b'``; ``'a.b'`` -> ``'a'``; ``'a'`` -> ``''``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _lookup(keys, values, path, value):
    first, second = (values, keys) if value else (keys, values)
    while True:
        for table in (first, second):
            found = table.get(path)
            if found is not None:
                return found
        if not path:
            return (None, None)
        path = _parent(path)


def _join(path, key):
    return f"{path}.{key}" if path else str(key)

