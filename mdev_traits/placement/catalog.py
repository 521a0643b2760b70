"""The version bucket traits that exist in Placement, read now and then.

A host publishes the buckets of lower minors only when their trait exists
in Placement (:mod:`mdev_traits.mapping.versions`): this module lists
them with ``GET /traits?name=startswith:CUSTOM_MDEV_SWVER_`` (one request,
Placement API 1.6+) at most once every ``every`` cycles and hands the names
on as plain data. Between two reads the last list is used. When a read
is refused, the last list stays in use and the next cycle reads again;
without any list yet the cycle fails like any other read (``ReadError``),
so that a missing list never withdraws buckets.

Given ``on_first_read`` (the executor's ``learn_custom_traits``), the
first read lists every ``CUSTOM_`` trait instead and hands them all to it:
the first sync then needs no ``GET /traits?name=in:...`` to learn which
of its custom traits exist (one request fewer than nova's report client
for the same tree, see ``benchmarks/first_sync.py``); later reads list
the buckets only.
"""

import urllib.parse

from mdev_traits.placement import reader as reader_mod

# Names kept from one read at most: a bound whatever Placement holds.
MAX_NAMES = 100000
CUSTOM_PREFIX = 'CUSTOM_'


class TraitCatalog(object):
    """Trait names with ``prefix`` that exist in Placement."""

    def __init__(self, client, prefix, every=5, on_first_read=None):
        self.client = client
        self.prefix = prefix
        self.every = max(1, int(every))
        self._names = None
        self._age = 0
        self.reads = 0
        # called with every CUSTOM_ trait by the first read, then None
        self._on_first_read = on_first_read

    def names(self):
        """The names, read again when the last read is ``every`` cycles
        old; call once per cycle.

        :raises reader_mod.ReadError: Placement answered the read with an
            error (the last list is kept for the next try).
        """
        if self._names is None or self._age >= self.every:
            try:
                self._names = self._read()
            except reader_mod.ReadError:
                if self._names is None:
                    raise
                return self._names
            self._age = 0
        self._age += 1
        return self._names

    def _read(self):
        listed = (CUSTOM_PREFIX if self._on_first_read is not None
                  else self.prefix)
        resp = self.client.get('/traits?name=%s' % urllib.parse.quote(
            'startswith:' + listed, safe=':'))
        if resp.status != 200:
            raise reader_mod.ReadError('cannot list the %s* traits: %s: %s'
                                       % (listed, resp, resp.error_detail))
        self.reads += 1
        traits = [t for t in (resp.body or {}).get('traits', [])
                  if isinstance(t, str) and t.startswith(listed)]
        if self._on_first_read is not None:
            self._on_first_read(frozenset(traits[:MAX_NAMES]))
            self._on_first_read = None
        # the bound applies to the buckets themselves: other custom traits
        # of the cloud never push a bucket out of the list
        return frozenset([t for t in traits
                          if t.startswith(self.prefix)][:MAX_NAMES])

    def forget(self):
        """Read again in the next cycle."""
        self._names = None
