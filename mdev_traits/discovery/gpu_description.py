"""What the hardware says about a GPU slice, parsed (no I/O).

The mdev type's ``description`` in sysfs (heads, maximum resolution,
framebuffer: :func:`parse_description`) and the NVIDIA vGPU type name
(framebuffer: :func:`type_name_framebuffer_mb`), as the typed
:class:`mdev_traits.models.TypeDescription` that discovery puts on each
:class:`~mdev_traits.models.MdevType` (``description_fields``) and each
vGPU VF (:class:`~mdev_traits.models.PciGpu` ``current_type_fields``):
the mapping (:func:`mdev_traits.mapping.gpu_resolve.resolve`) reads the
typed fields, never the text.
"""

import dataclasses
import re

from mdev_traits import models

# Numbers in what the hardware says are ASCII digits, and short: ``\d``
# alone would also match other scripts' digits, and int() refuses more
# than sys.int_max_str_digits of them (a ValueError that once stopped the
# whole host from being published).
_NUMBER = r'([0-9]{1,18})'
_SIZE_RE = re.compile(r'^' + _NUMBER + r'\s*(?:([KMGT])(?:I?B)?|B)?$',
                      re.IGNORECASE | re.ASCII)
_RESOLUTION_RE = re.compile(r'^' + _NUMBER + r'\s*[xX]\s*' + _NUMBER + '$',
                            re.ASCII)
_COUNT_RE = re.compile(r'^' + _NUMBER + '$', re.ASCII)
_ITEM_SPLIT_RE = re.compile(r'[,\n]')
# NVIDIA vGPU type names end in -<framebuffer GB><series letter>[variant]:
# "GRID T4-2Q", "GRID M60-2B4" (a variant number), and MIG-backed types
# -<compute slices>-<GB><series>[ME]: "NVIDIA A100-2-10C", "NVIDIA
# H100-1-10C", "NVIDIA A100-1-5CME" (ME: with the media extensions of the
# GPU instance - NVIDIA Virtual GPU Software User Guide, "Virtual GPU
# Types for Supported GPUs", MIG-backed C-series types).
_NVIDIA_TYPE_NAME_RE = re.compile(
    r'-([0-9]{1,6})([A-Z])(?:[0-9]+|(?<=C)ME)?$', re.ASCII)

_SIZE_FACTOR_MB = {None: 1, 'K': 1.0 / 1024, 'M': 1, 'G': 1024,
                   'T': 1024 * 1024}


def _size_mb(text):
    match = _SIZE_RE.match(text.strip())
    if not match:
        return None
    value = int(match.group(1)) * _SIZE_FACTOR_MB[
        match.group(2).upper() if match.group(2) else None]
    return int(value)


def parse_resolution(text):
    """``(width, height)`` of "WxH", or None."""
    match = _RESOLUTION_RE.match(text.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_description(text):
    """What an mdev type's ``description`` says, as a
    :class:`~mdev_traits.models.TypeDescription` (without the type name's
    part: :func:`type_description`).

    NVIDIA vGPU types: ``num_heads=4, frl_config=60, framebuffer=2048M,
    max_resolution=5120x2880, max_instance=8``. Intel GVT-g types:
    ``low_gm_size: 128MB\\nhigh_gm_size: 512MB\\nfence: 4\\nresolution:
    1920x1200\\nweight: 4`` (the guest's graphics memory is low + high).
    Other fields (``frl_config``, ``max_instance``, ``fence``, ``weight``)
    are not read: no trait derives from them.
    """
    fields, problems = _parse(text)
    return models.TypeDescription(problems=tuple(problems), **fields)


def _parse(text):
    """({TypeDescription field: value}, [problems]) of a description."""
    fields = {}
    problems = []
    if not text:
        return fields, problems
    items = {}
    for item in _ITEM_SPLIT_RE.split(text):
        key, sep, value = item.partition('=')
        if not sep:
            key, sep, value = item.partition(':')
        if sep and key.strip():
            items[key.strip().lower()] = value.strip()

    def bad(key):
        problems.append('%s=%r is not understood' % (key, items[key]))

    if 'num_heads' in items:
        # str.isdigit() is True for "²", which int() refuses
        if _COUNT_RE.match(items['num_heads']):
            fields['display_heads'] = int(items['num_heads'])
        else:
            bad('num_heads')
    for key in ('max_resolution', 'resolution'):
        if key in items:
            res = parse_resolution(items[key])
            if res is None:
                bad(key)
            else:
                fields['max_resolution'] = res
            break
    if 'framebuffer' in items:
        size = _size_mb(items['framebuffer'])
        if size is None:
            bad('framebuffer')
        else:
            fields['framebuffer_mb'] = size
    elif 'low_gm_size' in items or 'high_gm_size' in items:
        total = 0
        for key in ('low_gm_size', 'high_gm_size'):
            if key in items:
                size = _size_mb(items[key])
                if size is None:
                    bad(key)
                    total = None
                    break
                total += size
        if total:
            fields['framebuffer_mb'] = total
    return fields, problems


def type_name_framebuffer_mb(type_name):
    """Framebuffer in MiB from an NVIDIA vGPU type name, or None."""
    if not type_name:
        return None
    match = _NVIDIA_TYPE_NAME_RE.search(type_name.strip())
    if not match or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * 1024


def type_description(description, type_name=None):
    """:class:`~mdev_traits.models.TypeDescription` of a type's
    ``description`` text and its name."""
    fields, problems = _parse(description)
    return models.TypeDescription(
        problems=tuple(problems),
        name_framebuffer_mb=type_name_framebuffer_mb(type_name), **fields)


def describe_mdev_type(mdev_type):
    """``mdev_type`` with ``description_fields`` parsed from its
    ``description`` and ``name``."""
    return dataclasses.replace(mdev_type, description_fields=type_description(
        mdev_type.description, mdev_type.name))


def describe_pci_gpu(gpu):
    """``gpu`` (a :class:`~mdev_traits.models.PciGpu`) with
    ``current_type_fields`` parsed from the name of its current vGPU type
    (a VF has no description)."""
    name = gpu.current_vgpu_type[1] if gpu.current_vgpu_type else None
    return dataclasses.replace(gpu,
                               current_type_fields=type_description(None,
                                                                    name))
