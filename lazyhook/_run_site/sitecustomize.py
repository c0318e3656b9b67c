"""Read only by programs that ``lazyhook run``/``report`` start: this directory is first on
their ``PYTHONPATH``, so ``site`` runs this file before the program.  ``start_run`` takes the
directory off ``sys.path`` again, puts ``PYTHONPATH`` back, installs lazyhook and runs the
environment's own ``sitecustomize`` (see ``lazyhook/_startup.py``)."""

from lazyhook._startup import start_run

start_run(__file__)
