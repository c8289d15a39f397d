"""``python -m fitcli`` works like the ``fitcli`` command."""
from fitcli.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
