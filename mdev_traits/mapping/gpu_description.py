"""What the hardware says about a GPU slice, parsed (pure).

The mdev type's ``description`` in sysfs (heads, maximum resolution,
framebuffer: :func:`parse_description`) and the NVIDIA vGPU type name
(framebuffer: :func:`type_name_framebuffer_mb`), as capabilities for
:func:`mdev_traits.mapping.gpu.resolve`.
"""

import re

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
    """Facts in an mdev type's ``description``.

    NVIDIA vGPU types: ``num_heads=4, frl_config=60, framebuffer=2048M,
    max_resolution=5120x2880, max_instance=8``. Intel GVT-g types:
    ``low_gm_size: 128MB\\nhigh_gm_size: 512MB\\nfence: 4\\nresolution:
    1920x1200\\nweight: 4`` (the guest's graphics memory is low + high).

    :returns: ({capability: value}, [problems]) with capabilities among
        ``display_heads``, ``max_resolution`` ("WxH") and
        ``framebuffer_mb``.
    """
    facts = {}
    problems = []
    if not text:
        return facts, problems
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
            facts['display_heads'] = int(items['num_heads'])
        else:
            bad('num_heads')
    for key in ('max_resolution', 'resolution'):
        if key in items:
            res = parse_resolution(items[key])
            if res is None:
                bad(key)
            else:
                facts['max_resolution'] = '%dx%d' % res
            break
    if 'framebuffer' in items:
        size = _size_mb(items['framebuffer'])
        if size is None:
            bad('framebuffer')
        else:
            facts['framebuffer_mb'] = size
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
            facts['framebuffer_mb'] = total
    return facts, problems


def type_name_framebuffer_mb(type_name):
    """Framebuffer in MiB from an NVIDIA vGPU type name, or None."""
    if not type_name:
        return None
    match = _NVIDIA_TYPE_NAME_RE.search(type_name.strip())
    if not match or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * 1024
