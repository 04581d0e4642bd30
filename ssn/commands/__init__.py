"""Sub-commands of the ``ssn`` command line (see :mod:`ssn.cli`)."""
