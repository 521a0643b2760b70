"""Custom traits and resource classes, defined in Placement before use.

A trait must exist before a provider can have it (``PUT /traits/{name}``),
a custom resource class before an inventory of it (``PUT
/resource_classes/{name}``). What is known to exist is remembered, so that
a steady host sends none of these; a fleet defines a trait once, and every
other host finds it (one ``GET /traits?name=in:...`` per
:data:`TRAITS_PER_QUERY`) instead of PUTting it.

Only a ``201 Created`` answer means the exporter defined a trait (a
``204`` means it existed: someone else's, e.g. an operator's threshold):
:meth:`Definitions.ensure_traits` returns those, for the ownership record.
"""

import urllib.parse

# custom traits looked up per GET /traits?name=in:... (keeps the URL short)
TRAITS_PER_QUERY = 50


class Definitions(object):
    """What custom traits and resource classes exist; defines the others
    (the executor's, one per Placement client)."""

    def __init__(self, client):
        self.client = client
        # custom traits and resource classes known to exist in Placement
        self.known_traits = set()
        self.known_resource_classes = set()
        # known_traits holds every custom trait of Placement, listed just
        # now (learn_custom_traits): the next trait creation needs no GET
        self._listed = False

    def learn_custom_traits(self, traits):
        """``traits``: every custom trait Placement holds, listed in this
        cycle (:class:`~mdev_traits.placement.catalog.TraitCatalog`'s first
        read): the traits to create next are those not in it, without a
        ``GET /traits?name=in:...`` (once; later lists may be stale)."""
        self.known_traits.update(traits)
        self._listed = True

    def _existing_traits(self, traits):
        """Which of ``traits`` Placement has already, in one GET per
        :data:`TRAITS_PER_QUERY`."""
        found = set()
        traits = sorted(traits)
        for i in range(0, len(traits), TRAITS_PER_QUERY):
            chunk = traits[i:i + TRAITS_PER_QUERY]
            resp = self.client.get('/traits?name=in:%s' % ','.join(
                urllib.parse.quote(t) for t in chunk))
            if resp.status == 200:
                found.update(resp.body.get('traits', ()))
        return found

    def ensure_traits(self, traits):
        """Define those of ``traits`` not known to exist. Returns
        ``(created, failures)``: the traits Placement answered ``201
        Created`` to, and a line for each it refused."""
        unknown = [t for t in traits if t not in self.known_traits]
        if len(unknown) > 1 and not self._listed:
            self.known_traits.update(self._existing_traits(unknown))
        self._listed = False
        created = []
        failures = []
        for trait in traits:
            if trait in self.known_traits:
                continue
            resp = self.client.put('/traits/%s' % urllib.parse.quote(trait),
                                   None)
            if resp.status in (201, 204):
                self.known_traits.add(trait)
            else:
                failures.append('cannot create trait %s: %s' % (
                    trait, resp.error_detail))
            # 201: the exporter defined it; 204: it existed (someone
            # else's, e.g. an operator's threshold): never recorded
            if resp.status == 201:
                created.append(trait)
        return created, failures

    def forget_traits(self, traits):
        """Placement refused them on a provider (e.g. deleted since we
        last saw them, by "cleanup" on another host, once no provider had
        them): define them again next time."""
        self.known_traits.difference_update(traits)

    def ensure_resource_classes(self, resource_classes):
        """Define the custom ones of ``resource_classes`` not known to
        exist (a refusal shows in the inventory write that follows)."""
        for rc in resource_classes:
            if not rc.startswith('CUSTOM_') or (
                    rc in self.known_resource_classes):
                continue
            resp = self.client.put('/resource_classes/%s' %
                                   urllib.parse.quote(rc), None)
            if resp.status in (201, 204):
                self.known_resource_classes.add(rc)
