"""The exporter's ownership record (pure data, no I/O).

"Ownership is a record, never a guess": the exporter writes only what this
record says it set or created, or what it describes this cycle.
:mod:`mdev_traits.placement.state` stores it as JSON (format version 2):

.. code-block:: json

    {"version": 2,
     "root_provider": "cn1",
     "host_id": "<the /etc/machine-id of the host that wrote it>",
     "created": {"cn1_pci_0000_3b_00_0": "<uuid>"},
     "defined_traits": ["CUSTOM_MDEV_TYPE_NVIDIA_231", "..."],
     "providers": {
       "cn1_pci_0000_3b_00_0": {
         "traits": ["CUSTOM_MDEV_TYPE_NVIDIA_231", "..."],
         "resource_classes": ["VGPU"],
         "reservations": {"VGPU": {"operator": 2, "set": 4}}}},
     "withdrawal_hold": {"providers": ["cn1_pci_0000_5e_00_0"],
                         "traits": {"cn1_pci_0000_3b_00_0": ["..."]},
                         "cycles": 1}}

Fields:

``created``
    Providers the exporter created (``POST /resource_providers``), name ->
    uuid. Only these are deleted when their device is gone, and only these
    get inventories in ``manage`` mode. A provider counts as created only
    while Placement holds it under that name with that uuid: a uuid5 of
    the name that matches is *not* a proof (another host with the same
    root name computes the same uuid5).
``defined_traits``
    The custom traits the exporter itself defined: Placement answered
    ``201 Created`` to its ``PUT /traits/{name}`` (``204``: it existed
    already, someone else's). Recorded only after the ``201``, never
    before, so that the list never names a trait someone else defined
    (an operator's driver threshold, neutron's ``CUSTOM_PHYSNET_*``):
    ``cleanup`` deletes these, and only these, once no provider has them.
``providers.<name>.traits``
    Traits the exporter set on that provider; only these are ever removed.
``providers.<name>.resource_classes``
    Resource classes whose inventory the exporter manages there.
``providers.<name>.reservations``
    Per resource class, the ``reserved`` value the exporter wrote itself
    (``set``) while holding inventory in use, and the operator's value it
    replaced (``operator``). While Placement still shows ``set``, the
    operator's value is ``operator``; once it shows anything else, the value
    shown is the operator's (someone changed it: it is kept).
``withdrawal_hold``
    A large withdrawal (see :func:`mdev_traits.placement.plan.withdrawal`):
    the providers and traits it withdraws and on how many consecutive
    cycles it was found; held back while ``cycles`` is below
    ``[exporter] withdrawal_confirm_cycles``, then carried out (and kept,
    so that its remainder, such as a deletion waiting for allocations to
    go, is not held back again).

A record that is missing or could not be read has ``recorded = False``:
then, and only on providers the exporter describes this cycle, traits with
a reserved prefix (:data:`mdev_traits.mapping.contract.RESERVED_PREFIXES`)
and traits the exporter wants that are already present are taken as its
own.

Intended additions and creations are recorded *before* the request that
makes them (:func:`merge`), so that an interrupted cycle never leaves an
unrecorded trait or provider behind.
"""

import dataclasses
import typing

from mdev_traits.mapping import names

FORMAT_VERSION = 2


@dataclasses.dataclass
class Ownership:
    """What the exporter set and created, per provider name."""

    traits: typing.Dict[str, typing.FrozenSet[str]] = dataclasses.field(
        default_factory=dict)
    resource_classes: typing.Dict[str, typing.FrozenSet[str]] = (
        dataclasses.field(default_factory=dict))
    # name -> uuid of the providers the exporter created
    created: typing.Dict[str, str] = dataclasses.field(default_factory=dict)
    # name -> {resource class: (operator's reserved, reserved we set)}
    reservations: typing.Dict[str, typing.Dict[str, typing.Tuple[int, int]]] \
        = dataclasses.field(default_factory=dict)
    # False: no usable record (missing, unreadable): reserved-prefix
    # fallback on described providers
    recorded: bool = True
    # {'providers': [...], 'traits': {name: [...]}, 'cycles': n}: a large
    # withdrawal held back or confirmed, or None
    withdrawal_hold: typing.Optional[dict] = None
    # custom traits the exporter defined (Placement answered 201)
    defined: typing.FrozenSet[str] = frozenset()

    def owned_rcs(self, name):
        return frozenset(self.resource_classes.get(name, frozenset()))

    def created_uuid(self, name):
        return self.created.get(name)

    def names(self):
        return (set(self.traits) | set(self.resource_classes)
                | set(self.created) | set(self.reservations))

    def copy(self):
        return Ownership(
            traits=dict(self.traits),
            resource_classes=dict(self.resource_classes),
            created=dict(self.created),
            reservations={n: dict(r) for n, r in self.reservations.items()},
            recorded=self.recorded, withdrawal_hold=self.withdrawal_hold,
            defined=frozenset(self.defined))

    # -- serialisation (format version 2) -----------------------------------
    def to_dict(self):
        """The ``created``, ``defined_traits``, ``providers`` and
        ``withdrawal_hold`` members of the state file (empty entries left
        out)."""
        providers = {}
        for name in sorted(set(self.traits) | set(self.resource_classes)
                           | set(self.reservations)):
            entry = {}
            if self.traits.get(name):
                entry['traits'] = sorted(self.traits[name])
            if self.resource_classes.get(name):
                entry['resource_classes'] = sorted(
                    self.resource_classes[name])
            if self.reservations.get(name):
                entry['reservations'] = {
                    rc: {'operator': op, 'set': set_}
                    for rc, (op, set_) in sorted(
                        self.reservations[name].items())}
            if entry:
                providers[name] = entry
        data = {'created': dict(sorted(self.created.items())),
                'providers': providers}
        if self.defined:
            data['defined_traits'] = sorted(self.defined)
        if self.withdrawal_hold:
            data['withdrawal_hold'] = self.withdrawal_hold
        return data

    @classmethod
    def from_dict(cls, data):
        """Parse :meth:`to_dict` output; ``TypeError``/``ValueError`` on a
        malformed record."""
        own = cls()
        created = data.get('created') or {}
        if not isinstance(created, dict):
            raise TypeError('created is not an object')
        own.created = {str(n): str(u) for n, u in created.items()}
        own.defined = _names(data.get('defined_traits') or [])
        providers = data.get('providers') or {}
        if not isinstance(providers, dict):
            raise TypeError('providers is not an object')
        for name, entry in providers.items():
            if not isinstance(entry, dict):
                raise TypeError('provider %s is not an object' % name)
            own._add_entry(name, entry)
            res = {}
            for rc, value in (entry.get('reservations') or {}).items():
                res[rc] = (int(value['operator']), int(value['set']))
            if res:
                own.reservations[name] = res
        hold = data.get('withdrawal_hold')
        if hold:
            own.withdrawal_hold = {
                'providers': sorted(_names(hold['providers'])),
                'traits': {str(n): sorted(_names(t))
                           for n, t in hold['traits'].items()},
                'cycles': int(hold['cycles'])}
        return own

    @classmethod
    def from_v1(cls, providers):
        """Migrate a version 1 record (``{name: {traits, resource_classes}}``).

        Version 1 did not record creations. It recorded resource classes
        only where it managed a provider's inventory (``manage`` mode),
        which it did on the providers it had created with the uuid5 of
        their name; those are taken as created with that uuid (a provider
        that Placement holds under another uuid is then not ours).
        """
        own = cls()
        if not isinstance(providers, dict):
            raise TypeError('providers is not an object')
        for name, entry in providers.items():
            if own._add_entry(name, entry):
                own.created[name] = names.provider_uuid(name)
        return own

    def _add_entry(self, name, entry):
        """Read the ``traits`` and ``resource_classes`` of one provider's
        entry (both formats); returns whether it has resource classes."""
        traits = _names(entry.get('traits', ()))
        rcs = _names(entry.get('resource_classes', ()))
        if traits:
            self.traits[name] = traits
        if rcs:
            self.resource_classes[name] = rcs
        return bool(rcs)


def _names(value):
    if isinstance(value, str) or not isinstance(value, (list, tuple, set,
                                                        frozenset)):
        raise TypeError('expected a list of names, got %r' % (value,))
    return frozenset(str(v) for v in value)


def merge(old, new):
    """What to record *before* a cycle writes: everything ``old`` owned and
    everything ``new`` will own (a union), so that an interruption at any
    point leaves no trait or provider unrecorded. Reservations and the
    withdrawal hold come from ``new``."""
    out = Ownership(recorded=True, withdrawal_hold=new.withdrawal_hold,
                    defined=frozenset(old.defined) | frozenset(new.defined))
    for name in set(old.traits) | set(new.traits):
        out.traits[name] = (old.traits.get(name, frozenset())
                            | new.traits.get(name, frozenset()))
    for name in set(old.resource_classes) | set(new.resource_classes):
        out.resource_classes[name] = (
            old.resource_classes.get(name, frozenset())
            | new.resource_classes.get(name, frozenset()))
    out.created = dict(old.created)
    out.created.update(new.created)
    out.reservations = {n: dict(r) for n, r in old.reservations.items()}
    for name, res in new.reservations.items():
        out.reservations.setdefault(name, {}).update(res)
    return out


def keep_provider(final, old, name):
    """Keep in ``final`` everything ``old`` owned on provider ``name``
    (its changes did not all complete)."""
    for field in ('traits', 'resource_classes'):
        mine = getattr(final, field)
        theirs = getattr(old, field).get(name, frozenset())
        if theirs or name in mine:
            mine[name] = mine.get(name, frozenset()) | theirs
    if name in old.created and name not in final.created:
        final.created[name] = old.created[name]
    if name in old.reservations:
        merged = dict(old.reservations[name])
        merged.update(final.reservations.get(name, {}))
        final.reservations[name] = merged
