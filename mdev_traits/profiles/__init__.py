"""GPU capability profiles and operator rules: the file format and its
loading.

* :mod:`mdev_traits.profiles.schema`: the JSON schema of a rule file;
* :mod:`mdev_traits.profiles.parser`: ``yaml.safe_load``, validation
  against the schema, the checks a schema cannot express, and the
  one-line :class:`~mdev_traits.profiles.parser.ProfileError`;
* :mod:`mdev_traits.profiles.loader`: reading the shipped profiles (the
  ``*.yaml`` files of this folder) and the operator's directory.

The rules themselves (:class:`mdev_traits.mapping.gpu_rules.Rule`) and
their matching are pure data and functions of the mapping layer, which
never imports this package.
"""
