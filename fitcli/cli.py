"""The ``fitcli`` command line (the only module that talks to the terminal)."""
from __future__ import annotations

import click

EXIT_CODES = """\b
Exit codes:
  0   fit converged
  1   fit ran but did not converge or is unreliable
  2   input error: usage, spec, data or expression
  4   outputs could not be written
  70  internal error
  130/143  interrupted by SIGINT/SIGTERM"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES)
@click.version_option(None, "--version", package_name="fitcli",
                      prog_name="fitcli")
def main():
    """Fit models to data from a fit spec (YAML or TOML).

    \b
    Example:
      fitcli --version
    """


if __name__ == "__main__":  # pragma: no cover
    main()
