"""Bulk path into Placement's database, for benchmarks only.

A fleet of 1,000 hosts takes minutes through the API on a busy machine
(5 requests per host, SQLite serialises writers). The benchmark creates
one host through the API (so that Placement itself writes every row the
way it does for nova), then copies its rows for the other hosts with
plain SQL (SQLAlchemy core, the database Placement runs on: SQLite or
MySQL): same inventories and traits, new uuids and names. Placement reads
providers, inventories and traits from the database on every request, so
the copies are what the API would have made.
"""

import uuid

import sqlalchemy as sa

from mdev_traits.mapping import names


class Bulk(object):

    def __init__(self, url):
        self.engine = sa.create_engine(url)

    def _id(self, conn, rp_uuid):
        return conn.execute(sa.text(
            'SELECT id FROM resource_providers WHERE uuid = :u'),
            {'u': rp_uuid}).scalar_one()

    def clone_hosts(self, root_uuid, child_uuid, count, prefix):
        """Copy host ``root_uuid`` (with its child ``child_uuid``)
        ``count`` times; returns the children's database ids."""
        children = []
        with self.engine.begin() as conn:
            root_id = self._id(conn, root_uuid)
            child_id = self._id(conn, child_uuid)
            invs = {}
            for rp in (root_id, child_id):
                invs[rp] = [dict(r._mapping) for r in conn.execute(sa.text(
                    'SELECT resource_class_id, total, reserved, min_unit, '
                    'max_unit, step_size, allocation_ratio FROM inventories '
                    'WHERE resource_provider_id = :rp'), {'rp': rp})]
            root_traits = [r[0] for r in conn.execute(sa.text(
                'SELECT trait_id FROM resource_provider_traits WHERE '
                'resource_provider_id = :rp'), {'rp': root_id})]
            base = conn.execute(sa.text(
                'SELECT MAX(id) FROM resource_providers')).scalar_one()
            providers, inventories, traits = [], [], []
            for i in range(count):
                name = '%s-%05d' % (prefix, i)
                rid, cid = base + 2 * i + 1, base + 2 * i + 2
                child_name = name + '_pci_0000_3b_00_0'
                providers.append(dict(id=rid, uuid=str(uuid.uuid4()),
                                      name=name, generation=1, root=rid,
                                      parent=None))
                providers.append(dict(id=cid, uuid=names.provider_uuid(
                    child_name), name=child_name, generation=1, root=rid,
                    parent=rid))
                for src, dst in ((root_id, rid), (child_id, cid)):
                    inventories.extend(dict(row, rp=dst) for row in invs[src])
                traits.extend(dict(rp=rid, t=t) for t in root_traits)
                children.append(cid)
            conn.execute(sa.text(
                'INSERT INTO resource_providers (id, uuid, name, generation, '
                'root_provider_id, parent_provider_id) VALUES (:id, :uuid, '
                ':name, :generation, :root, :parent)'), providers)
            conn.execute(sa.text(
                'INSERT INTO inventories (resource_provider_id, '
                'resource_class_id, total, reserved, min_unit, max_unit, '
                'step_size, allocation_ratio) VALUES (:rp, '
                ':resource_class_id, :total, :reserved, :min_unit, '
                ':max_unit, :step_size, :allocation_ratio)'), inventories)
            if traits:
                conn.execute(sa.text(
                    'INSERT INTO resource_provider_traits '
                    '(resource_provider_id, trait_id) VALUES (:rp, :t)'),
                    traits)
        return children

    def set_traits(self, provider_ids, trait_names):
        """Replace the traits of ``provider_ids`` (the traits must exist
        in Placement)."""
        with self.engine.begin() as conn:
            ids = []
            for name in sorted(trait_names):
                ids.append(conn.execute(sa.text(
                    'SELECT id FROM traits WHERE name = :n'),
                    {'n': name}).scalar_one())
            conn.execute(sa.text(
                'DELETE FROM resource_provider_traits WHERE '
                'resource_provider_id IN (%s)' % ','.join(
                    str(int(p)) for p in provider_ids)))
            rows = [dict(rp=p, t=t) for p in provider_ids for t in ids]
            if rows:
                conn.execute(sa.text(
                    'INSERT INTO resource_provider_traits '
                    '(resource_provider_id, trait_id) VALUES (:rp, :t)'),
                    rows)
            conn.execute(sa.text(
                'UPDATE resource_providers SET generation = generation + 1 '
                'WHERE id IN (%s)' % ','.join(
                    str(int(p)) for p in provider_ids)))

    def dispose(self):
        self.engine.dispose()
