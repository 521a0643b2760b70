"""GPU capability rules: the data and its matching (pure).

A rule matches GPUs by their PCI ids, driver, type and kind, and sets
capabilities or adds traits. The files they come from (the shipped vendor
profiles and the operator's rule files), their format (a JSON schema),
parsing and validation live in :mod:`mdev_traits.profiles`; this module
only holds the validated, frozen :class:`Rule` objects and matches them.

``address`` matches the device's own PCI address or that of its physical
GPU (the PF of an SR-IOV VF). Operator rules may only add ``CUSTOM_*``
traits, and none with a prefix the exporter reserves for what it derives
itself (``contract.RESERVED_PREFIXES``); the shipped profiles may also
name standard traits.
"""

import dataclasses
import fnmatch
import typing

MATCH_FIELDS = ('address', 'vendor', 'device', 'driver', 'type',
                'type_name', 'kind')
KIND_MDEV = 'mdev'
KIND_VGPU_VF = 'vgpu-vf'
KIND_PASSTHROUGH = 'passthrough'
KINDS = (KIND_MDEV, KIND_VGPU_VF, KIND_PASSTHROUGH)


@dataclasses.dataclass(frozen=True)
class Rule:
    """One validated rule."""

    filename: str        # as shown to the operator (base name for shipped)
    name: str
    operator: bool       # from the operator's directory
    # (field, patterns) with lower-case patterns
    match: typing.Tuple[typing.Tuple[str, typing.Tuple[str, ...]], ...]
    # (capability, value); value None removes the capability
    set: typing.Tuple[typing.Tuple[str, typing.Any], ...] = ()
    traits: typing.Tuple[str, ...] = ()

    @property
    def origin(self):
        """Where a capability or trait came from, for ``trait_sources``."""
        if self.operator:
            return 'operator rule %s:%s' % (self.filename, self.name)
        return 'profile %s:%s' % (self.filename, self.name)


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """Shipped profile rules, then operator rules, each in the order they
    apply (later wins); ``errors``: one line per file that was skipped."""

    builtin: typing.Tuple[Rule, ...] = ()
    operator: typing.Tuple[Rule, ...] = ()
    errors: typing.Tuple[str, ...] = ()


def rule_matches(rule, target):
    """Whether every field of ``rule.match`` matches ``target``.

    ``target`` is a :class:`mdev_traits.mapping.gpu_resolve.GpuTarget`; a
    field the target does not have (None) never matches.
    """
    for field, patterns in rule.match:
        values = target.match_values(field)
        if not any(fnmatch.fnmatchcase(value.lower(), pattern)
                   for value in values if value
                   for pattern in patterns):
            return False
    return True
