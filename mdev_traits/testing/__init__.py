"""Test tools: the ``mdev-traits[test]`` extra.

Fake sysfs trees and tools, the recorded sample hosts
(:mod:`mdev_traits.testing.samples`), a real Placement on loopback and
the demo. The operator's code never imports them
(``tests/unit/test_architecture.py``). Those that need a test requirement
say so when imported without it: ``pip install '.[test]'`` in a
checkout (or ``pip install '<wheel>[test]'``; the project is not on PyPI)
installs what they need (setup.cfg ``[extras] test``).

This module itself imports nothing outside the standard library, so that
:func:`missing` can be asked before anything else is imported.
"""

import importlib.util

INSTALL = "pip install '.[test]' in a checkout of mdev-traits"

# import name -> distribution of the ``test`` extra (setup.cfg)
DISTRIBUTIONS = {
    'fixtures': 'fixtures',
    'placement': 'openstack-placement',
    'osc_placement': 'osc-placement',
    'openstackclient': 'python-openstackclient',
}


def missing(*modules):
    """The distributions of ``modules`` (import names) that are not
    installed, in order."""
    return [DISTRIBUTIONS.get(name, name) for name in modules
            if importlib.util.find_spec(name) is None]


def require(user, *modules):
    """Raise ImportError, naming ``user`` and how to install the extra,
    when one of ``modules`` (import names) is not installed."""
    absent = missing(*modules)
    if absent:
        raise ImportError('%s needs the test extra (missing: %s): %s'
                          % (user, ', '.join(absent), INSTALL),
                          name=absent[0])
