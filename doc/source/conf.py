# Sphinx configuration of the operator's guide (tox -e docs).
#
# Plain Sphinx with its default theme: the build needs no network. The
# trait reference is generated at build time from the code and the shipped
# profiles by the local extension in _ext/ (mdev_traits_reference.py), so it
# never drifts from what the exporter publishes.

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '_ext'))
# the package, when the docs are built from a checkout without installing
sys.path.insert(1, os.path.abspath(os.path.join(HERE, '..', '..')))

project = 'mdev-traits'
copyright = 'mdev-traits developers'
author = 'mdev-traits developers'

extensions = ['mdev_traits_reference']

root_doc = 'index'
exclude_patterns = []
templates_path = []
pygments_style = 'sphinx'
highlight_language = 'none'

html_theme = 'alabaster'
html_static_path = []
html_title = "mdev-traits operator's guide"
html_theme_options = {'page_width': '1100px', 'body_max_width': 'auto'}
